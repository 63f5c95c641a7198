// Package search defines Beacon's live search index contract: the Channel
// document, queries, results and the Index interface its backends implement.
//
// # Documents
//
// The index holds one Channel document per channel, keyed by channel id, with
// its live state (title, category, language, streamer tags and Smart Tags,
// mature and live flags, start time, viewer count, thumbnail, safety state).
// Writers send a Patch: only its non-nil fields change, and upserting a channel
// that does not exist creates it from the patch. A Patch that sets only
// ViewerCount is the hot path (thousands a second) and backends may keep it out
// of their text index.
//
// # Queries
//
// Query text is plain text, never backend query syntax: it is split into at
// most MaxTerms terms (letters and digits; everything else separates terms)
// and each term must match a field among title, login, display name, category
// name and tags, exactly, within a small edit distance (typo tolerance: one
// edit for terms of 3–5 characters, two beyond), or — for the last term only,
// the one being typed — as a prefix (search-as-you-type). Backends build their
// query objects from those terms programmatically; no query-string parser sees
// user input. Filters narrow by live, category ids, languages, tags (all-of
// and any-of) and mature; hidden channels (a confirmed safety flag) are left
// out unless Query.IncludeHidden is set. Results sort by relevance, viewers or
// recency, with the channel id as the final tie-breaker.
//
// # Pagination
//
// Results page through an opaque cursor. The first page of a query ranks up to
// MaxDepth matches once and keeps that ordered list of ids as a snapshot in
// the serving process (for SnapshotTTL); later pages slice the snapshot, so
// pages neither repeat nor skip channels while viewer counts move the live
// ranking. A page shows each channel's current document, and leaves out a
// channel that was deleted or hidden since the snapshot. When the snapshot is
// gone (expired, or the cursor reached another process), the cursor's keyset —
// the last hit's sort value and channel id — continues after that position in
// the current ranking (search_after): no error, but a channel whose rank moved
// across the boundary may then repeat or be skipped. Cursors carry a
// fingerprint of the query they belong to and are refused with another query.
// Results deeper than MaxDepth are refused (ErrTooDeep).
//
// # Backends
//
// Backends live in child packages: bleveindex (embedded, on disk, the default)
// and esindex (Elasticsearch 7 through olivere/elastic/v7). indextest holds the
// conformance suite both pass. This package imports none of them.
package search
