package search

import (
	"context"
	"slices"
	"time"
)

// Source is what a full rebuild reads from the system of record (the store).
//
// A rebuild writes one document per channel Fill yields, taking the metadata
// (login, names, title, category, language, streamer tags, mature) from the
// yielded document and the live state (see WithLiveState) from the index's
// current document when there is one; channels that Fill does not yield are
// left out of the rebuilt index.
type Source struct {
	// Fill yields the metadata document of every channel that belongs in the
	// index, a page at a time, through put; it returns put's error. Live-state
	// fields of the yielded documents are ignored. Required.
	Fill func(ctx context.Context, put func(...Channel) error) error
	// Lookup returns one channel's metadata document, or false when the
	// channel does not exist. Backends that rebuild online use it for
	// channels that first appear in the index while the rebuild runs (created
	// after Fill listed them); without it those channels keep the metadata
	// their index document has.
	Lookup func(ctx context.Context, id string) (Channel, bool, error)
}

// RebuildStats counts what a rebuild did.
type RebuildStats struct {
	// Channels is the number of documents in the rebuilt index (counted
	// right after the swap).
	Channels int
	// LiveCopied is how many of them took their live state from a current
	// document.
	LiveCopied int
	// Dropped is how many current documents are not in the rebuilt index
	// (their channel no longer exists in the store).
	Dropped int
	// CaughtUp is how many documents were copied again because a write
	// changed them while the rebuild ran (online rebuilds only).
	CaughtUp int
	// WritesHeld is how long writes to the index were held up at the swap
	// (online rebuilds only).
	WritesHeld time.Duration
}

// MetadataOnly returns c with its live state cleared: the part of a document
// the store owns.
func MetadataOnly(c Channel) Channel {
	return Channel{
		ID: c.ID, Login: c.Login, DisplayName: c.DisplayName, Title: c.Title,
		CategoryID: c.CategoryID, CategoryName: c.CategoryName, Language: c.Language,
		StreamerTags: slices.Clone(c.StreamerTags), Mature: c.Mature,
	}
}

// WithLiveState returns meta's metadata with cur's live state: the live
// flag, start time, viewer count, Smart Tags, safety state and thumbnail.
// The id is meta's.
func WithLiveState(meta, cur Channel) Channel {
	out := MetadataOnly(meta)
	out.Live = cur.Live
	out.StartedAt = cur.StartedAt
	out.ViewerCount = cur.ViewerCount
	out.SmartTags = slices.Clone(cur.SmartTags)
	out.Safety = cur.Safety
	out.ThumbnailURL = cur.ThumbnailURL
	return out
}
