/** What the compute threads and each lane did, step by step, on the monotonic clock (Hotline's pipeline chart). */
export interface TimelineEvent {
  step: number;
  /** 'compute', or the lane's owner ('host', 'ssd', ...). */
  lane: string;
  phase: string;
  startNs: number;
  endNs: number;
}

/** The timeline keeps the first steps' events (enough to see the pipeline; a long run's would not fit). */
const timelineEvents = 4000;

export class Timeline {
  readonly events: TimelineEvent[] = [];

  mark(step: number, lane: string, phase: string, startNs: number, endNs: number): void {
    if (this.events.length < timelineEvents) this.events.push({ step, lane, phase, startNs, endNs });
  }

  restore(events: TimelineEvent[]): void {
    this.events.splice(0, this.events.length, ...events);
  }
}
