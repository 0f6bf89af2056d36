/**
 * A partition's customers: those changed since the last flush as objects, every other one packed
 * at rest (customer-codec.ts) as a latin1 string of its bytes — a string lives on the heap, where
 * the limit on state is measured. Also which customers changed and which were handed over to
 * another partition since the last flush: the changelog records a flush writes for them.
 */
import { changelogKey, type ChangelogRecord } from './changelog-keys.ts';
import { isJsonCustomer, packCustomer, unpackCustomer, type StoredCustomer } from './customer-codec.ts';
import { customerFromJson } from './customer-json.ts';

export class CustomerStore {
  private readonly customers = new Map<string, StoredCustomer | string>();
  private readonly changed = new Set<string>();
  /** Handed over to another partition since the last flush (identity stitching): tombstoned unless held again. */
  private readonly handedOver = new Set<string>();

  get size(): number {
    return this.customers.size;
  }

  /** A customer's state as objects, unpacked if it was at rest. */
  get(key: string): StoredCustomer | undefined {
    const held = this.customers.get(key);
    return typeof held === 'string' ? unpackCustomer(Buffer.from(held, 'latin1'), customerFromJson) : held;
  }

  /** A customer's new state: written to the changelog at the next flush. */
  put(key: string, stored: StoredCustomer): void {
    this.customers.set(key, stored);
    this.changed.add(key);
  }

  /** Takes a customer out of this partition, as bytes for another one (null: none held here). */
  handOver(key: string): { readonly stored: StoredCustomer; readonly packed: Buffer } | null {
    const stored = this.get(key);
    if (stored === undefined) return null;
    const packed = packCustomer(stored);
    this.customers.delete(key);
    this.changed.delete(key);
    this.handedOver.add(key);
    return { stored, packed };
  }

  /**
   * The customers changed since the last flush, each as `atRest` makes it (pruned), packed at rest
   * with its changelog record; and a tombstone for each handed over and not held again.
   */
  packChanged(atRest: (stored: StoredCustomer) => StoredCustomer, changelog: ChangelogRecord[]): StoredCustomer[] {
    const packedNow: StoredCustomer[] = [];
    for (const key of this.changed) {
      const stored = this.get(key);
      if (stored === undefined) continue;
      const kept = atRest(stored);
      const packed = packCustomer(kept);
      this.customers.set(key, packed.toString('latin1'));
      changelog.push({ key: changelogKey.customer(key), value: packed });
      packedNow.push(kept);
    }
    return packedNow;
  }

  /** Tombstones for the customers handed over since the last flush; a visitor handed back is held again, its record written. */
  tombstonesOfHandedOver(): ChangelogRecord[] {
    return [...this.handedOver].filter((key) => !this.customers.has(key)).map((key) => ({ key: changelogKey.customer(key), value: null }));
  }

  clearChanges(): void {
    this.changed.clear();
    this.handedOver.clear();
  }

  /** A customer's changelog record read back (null: gone); what it was and is, for the histograms. */
  restore(key: string, record: string | Buffer | null): { before: StoredCustomer | undefined; after: StoredCustomer | undefined } {
    const before = this.get(key);
    if (record === null) {
      this.customers.delete(key);
      return { before, after: undefined };
    }
    const bytes = typeof record === 'string' ? Buffer.from(record, 'utf8') : record;
    const after = unpackCustomer(bytes, customerFromJson);
    this.customers.set(key, (isJsonCustomer(bytes) ? packCustomer(after) : bytes).toString('latin1'));
    return { before, after };
  }
}
