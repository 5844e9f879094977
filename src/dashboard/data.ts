/** The stores the dashboard reads: the sync library and the dispatcher's tables, on the hub's home. */
import type { SyncApi } from '../sync/open.js';
import type { DispatchDb } from '../dispatch/dispatcher/db.js';

export interface DashboardData {
  sync: SyncApi;
  dispatch: DispatchDb;
  close(): Promise<void>;
}

export async function openDashboardData(home: string): Promise<DashboardData> {
  const { openSync } = await import('../sync/open.js');
  const { openDispatchDb } = await import('../dispatch/open.js');
  const sync = await openSync({ home });
  try {
    const { db, close } = await openDispatchDb({ home });
    return {
      sync,
      dispatch: db,
      close: async () => {
        await close();
        await sync.close();
      },
    };
  } catch (err) {
    await sync.close();
    throw err;
  }
}
