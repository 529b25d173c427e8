/**
 * Aggregated notifications (a post's likes, a user's new followers), as Instagram shows them:
 * one notification per group until it is read, keeping the latest actors and a count.
 *
 * The count is derived from the absolute counts the events carry (the post's like count, with the
 * ticket of the recount that produced it), not incremented per event, so applying an event twice,
 * or a batch of thousands at once, gives the same result: `total` is the latest absolute count,
 * `seen` how many of the others' actions the recipient had already seen when they last read it,
 * and `self` whether the recipient's own action (liking their own post) is among `total`, as of
 * the ticket `selfSeq` of the last such action applied.
 */
export interface GroupState {
  actors: string[];
  actorCount: number;
  read: boolean;
  seq: number;
  total: number;
  seen: number;
  self: boolean;
  /** Absent on groups stored before it existed: read as 0. */
  selfSeq?: number;
}

/** One action on a group: an actor added (liked, followed) or taken back, and the count after it. */
export interface CountedAction {
  actorId: string;
  added: boolean;
  count: number;
  seq: number;
}

/**
 * A new group has seen nothing: every other like the post holds counts, including likes whose
 * events come after a later one's (another likes process published first, a failed batch was
 * redelivered after the next), which the absolute count includes and the actors may never show.
 * Likes from before notifications existed (never announced) count too: the count cannot tell
 * them from late ones, and leaving late ones out would undercount in ordinary operation.
 */
export const EMPTY_GROUP: GroupState = {
  actors: [],
  actorCount: 0,
  read: false,
  seq: 0,
  total: 0,
  seen: 0,
  self: false,
  selfSeq: 0,
};

/**
 * The group after `actions` (any order: they are applied by ticket). `bumped` says whether a new
 * actor arrived, which moves the notification to the top of the list. An action whose ticket is
 * older than one already applied is ignored: a later recount already counted it.
 */
export function aggregate(
  state: GroupState,
  recipientId: string,
  actions: readonly CountedAction[],
  keep: number,
): { state: GroupState; bumped: boolean } {
  let next = { ...state, actors: [...state.actors] };
  let bumped = false;
  const others = () => next.total - (next.self ? 1 : 0);
  for (const action of [...actions].sort((a, b) => a.seq - b.seq)) {
    // The recipient's own like or unlike goes by its own ticket: one whose event comes after a
    // later recount's is already in that recount's total, and must still be left out of others.
    if (action.actorId === recipientId && action.seq >= (next.selfSeq ?? 0)) {
      next.self = action.added;
      next.selfSeq = action.seq;
    }
    if (action.seq < next.seq) continue;
    // What the recipient had seen of the others before this recount: all of it, when read.
    let seenBefore = others() - 1;
    if (action.seq > next.seq) {
      seenBefore = others();
      next = { ...next, seq: action.seq, total: action.count };
    }
    if (action.actorId !== recipientId && action.added) {
      if (next.read) next = { ...next, read: false, actors: [], seen: seenBefore };
      if (next.actors[0] !== action.actorId) {
        next.actors = [
          action.actorId,
          ...next.actors.filter((actor) => actor !== action.actorId),
        ].slice(0, keep);
        bumped = true;
      }
    } else if (action.actorId !== recipientId && !next.read) {
      next.actors = next.actors.filter((actor) => actor !== action.actorId);
    }
    if (next.read) next.seen = others();
  }
  if (!next.read) next.actorCount = Math.max(others() - next.seen, next.actors.length);
  return { state: next, bumped };
}
