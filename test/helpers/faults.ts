/** Faults tests inject through the services' seams: collaborators that fail, never counters in production loops. */
import type { ICustomPartitioner, Kafka, Producer } from 'kafkajs';
import { createTransactionalProducer } from '../../services/common/kafka.ts';
import type { TransactionalProducerFactory } from '../../services/common/owned-partitions.ts';

/**
 * Transactional producers whose first `count` batch transactions (those that carry consumer
 * offsets) of a transactional id starting with `idPrefix` fail at their commit: the batch failed
 * after its events were applied, and its transaction is aborted. Counted across every producer the
 * factory makes, as a restored partition gets a new one.
 */
export function failingBatchCommits(count: number, idPrefix: string): TransactionalProducerFactory {
  let failuresLeft = count;
  return (kafka: Kafka, transactionalId: string, createPartitioner: ICustomPartitioner): Producer => {
    const producer = createTransactionalProducer(kafka, transactionalId, createPartitioner);
    if (!transactionalId.startsWith(idPrefix)) return producer;
    const transaction = producer.transaction.bind(producer);
    return Object.assign(producer, {
      transaction: async () => {
        const tx = await transaction();
        const { sendOffsets, commit } = { sendOffsets: tx.sendOffsets.bind(tx), commit: tx.commit.bind(tx) };
        let batch = false;
        return Object.assign(tx, {
          sendOffsets: (offsets: Parameters<typeof sendOffsets>[0]) => {
            batch = true;
            return sendOffsets(offsets);
          },
          commit: () => {
            if (batch && failuresLeft > 0) {
              failuresLeft--;
              return Promise.reject(new Error('fault injected: the batch failed after its events were applied, at its commit'));
            }
            return commit();
          },
        });
      },
    });
  };
}
