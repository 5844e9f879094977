/** The dispatcher speaks to the project store's `Db` (`?` placeholders, transactions, namespaced migrations). */
import type { Db } from '../../store/types.js';

export type Sql = Db;

export function sqlOf(store: Db): Sql {
  return store;
}
