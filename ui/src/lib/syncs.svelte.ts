// Running and finished syncs, per profile, shared by the whole window: a sync keeps going (and its
// progress keeps showing) while the user looks at another profile.
import {
  cancelSync,
  onSyncProgress,
  syncProfile,
  toApiError,
  type ApiError,
  type SyncProgressView,
  type SyncSummaryView,
} from "./ipc";

export interface SyncState {
  running: boolean;
  progress: SyncProgressView | null;
  summary: SyncSummaryView | null;
  error: ApiError | null;
  cancelling: boolean;
}

export class Syncs {
  byProfile = $state<Record<string, SyncState>>({});
  #listening: Promise<unknown> | null = null;
  /** Called when a sync ends (ok, failed or cancelled). */
  onfinished: ((profile: string) => void) | null = null;

  get(profile: string): SyncState | undefined {
    return this.byProfile[profile];
  }

  #listen(): Promise<unknown> {
    this.#listening ??= onSyncProgress((p) => {
      const s = this.byProfile[p.profile];
      if (s !== undefined && s.running) s.progress = p;
    }).catch(() => undefined);
    return this.#listening;
  }

  async start(profile: string): Promise<void> {
    if (this.byProfile[profile]?.running === true) return;
    this.byProfile[profile] = { running: true, progress: null, summary: null, error: null, cancelling: false };
    await this.#listen();
    try {
      const summary = await syncProfile(profile);
      this.byProfile[profile] = { running: false, progress: this.byProfile[profile]?.progress ?? null, summary, error: null, cancelling: false };
    } catch (err) {
      this.byProfile[profile] = { running: false, progress: this.byProfile[profile]?.progress ?? null, summary: null, error: toApiError(err), cancelling: false };
    }
    this.onfinished?.(profile);
  }

  async cancel(profile: string): Promise<void> {
    const s = this.byProfile[profile];
    if (s === undefined || !s.running) return;
    s.cancelling = true;
    try {
      await cancelSync(profile);
    } catch (err) {
      s.error = toApiError(err);
    }
  }
}
