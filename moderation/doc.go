// Package moderation runs Beacon's trust & safety flags queue: it records the
// flags that the safety models raise, keeps the evidence frames for review,
// and applies reviewers' decisions.
//
// # Components
//
//   - Recorder consumes topic `flags` (consumer group "moderation") and stores
//     every raised flag in the store's flags queue. Storing is idempotent by
//     flag id, so a redelivered message changes nothing. A message that does
//     not decode, or a flag the store refuses as invalid, is dead-lettered to
//     `flags.dlq` (bus.DeadLetter); a store outage leaves the message
//     uncommitted so that it is delivered again.
//   - Evidence keeps the JPEGs of flagged frames under one directory, within
//     a retention limit (maximum age and maximum total bytes, oldest deleted
//     first). Paths are built only from validated ids, never from raw input,
//     and every file access goes through an os.Root. It has no public route:
//     the API reads evidence through Open (or ServeEvidence) after checking
//     the caller is a moderator.
//   - Reviewer applies a decision: it records it in the store (with the
//     audit entry, in one transaction), publishes FlagEvent{reviewed} on
//     `flags` (the search indexer hides the channel on confirm_hide and
//     confirm_end_stream), and, for confirm_end_stream, ends the broadcast
//     through an injected streamEnder.
//
// # Delivery
//
// A review's side effects (the event, ending the stream) happen after the
// decision is committed. If one fails, Review returns the error and the
// decision stays recorded; calling Review again with the same decision is a
// no-op in the store and performs the side effects again, so a client retry
// completes them. Consumers of the reviewed event and the streamEnder must
// therefore be idempotent (ending a stream that already ended succeeds).
package moderation
