/**
 * A sink that SIGKILLs its own process between a block's inserts and its offset commit: the
 * sink-crash test's victim. `node crashing-sink.ts <topic> <blocks>` runs the sink as `journey run
 * sink` would (configuration from the environment, migrations first), and dies after the
 * <blocks>th block of <topic> reached ClickHouse (a test picks a table where a duplicate stays visible).
 */
import { loadConfig } from '../../services/common/config.ts';
import { createClickHouse } from '../../services/common/clickhouse.ts';
import { createKafka } from '../../services/common/kafka.ts';
import { createLogger } from '../../services/common/logger.ts';
import { migrate } from '../../services/common/migrations.ts';
import { createRegistry } from '../../services/common/registry.ts';
import { runSink } from '../../services/sink/sink.ts';
import { journeyMigrations } from '../../schemas/clickhouse/migrations.ts';

const [topic, blocks] = process.argv.slice(2);
if (topic === undefined || !Number.isInteger(Number(blocks))) throw new Error('usage: crashing-sink.ts <topic> <blocks>');
const config = loadConfig();
const logger = createLogger(config.logLevel, 'sink', config.logFormat);
const clickhouse = createClickHouse(config.clickhouse);
await migrate(clickhouse, journeyMigrations());
let inserted = 0;
await runSink({
  kafka: createKafka(config.kafka, logger.child({ component: 'kafka' })),
  registry: createRegistry(config.registry),
  clickhouse,
  config,
  logger,
  inserted: (block) => {
    if (block.topic !== topic || ++inserted < Number(blocks)) return;
    logger.warn(
      { event: 'sink.fault_injected', ...block, range: `${block.range.from}-${block.range.to}` },
      'SIGKILL between insert and offset commit',
    );
    process.kill(process.pid, 'SIGKILL');
  },
});
