package search

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
)

// MaxCursorLen is the longest cursor string accepted, in bytes.
const MaxCursorLen = 200

const cursorVersion = 1

// SnapshotID names a server-side snapshot of a query's ranking.
type SnapshotID [16]byte

// NewSnapshotID returns a random snapshot id.
func NewSnapshotID() SnapshotID {
	var id SnapshotID
	_, _ = rand.Read(id[:])
	return id
}

// IsZero reports whether id is unset.
func (id SnapshotID) IsZero() bool { return id == SnapshotID{} }

func (id SnapshotID) String() string { return hex.EncodeToString(id[:]) }

// Cursor is the decoded form of Result.NextCursor.
type Cursor struct {
	// Sort is the order the cursor pages through.
	Sort Sort
	// Fingerprint is the Plan.Fingerprint of the query.
	Fingerprint uint64
	// Offset is the position of the next page's first hit, 1..MaxDepth.
	Offset int
	// Snapshot names the ranking snapshot, if any.
	Snapshot SnapshotID
	// Key and ID are the last hit's sort key and channel id, for keyset
	// continuation when the snapshot is gone: the viewer count (SortViewers),
	// the start time in Unix milliseconds (SortRecency) or the score's
	// float64 bits (SortRelevance).
	Key int64
	ID  string
}

// ScoreKey returns the sort key of a relevance score.
func ScoreKey(score float64) int64 { return int64(math.Float64bits(score)) }

// KeyScore is the inverse of ScoreKey.
func KeyScore(key int64) float64 { return math.Float64frombits(uint64(key)) }

var sortCodes = []Sort{SortRelevance, SortViewers, SortRecency}

// Encode returns the opaque cursor string.
func (c *Cursor) Encode() string {
	b := make([]byte, 0, 64+len(c.ID))
	b = append(b, cursorVersion)
	code := byte(0)
	for i, s := range sortCodes {
		if s == c.Sort {
			code = byte(i)
		}
	}
	b = append(b, code)
	b = binary.BigEndian.AppendUint64(b, c.Fingerprint)
	b = binary.AppendUvarint(b, uint64(c.Offset))
	b = append(b, c.Snapshot[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Key))
	b = append(b, byte(len(c.ID)))
	b = append(b, c.ID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an untrusted cursor string. Errors match
// ErrInvalidCursor; it never panics.
func DecodeCursor(s string) (*Cursor, error) {
	if len(s) > MaxCursorLen {
		return nil, cursorErr(fmt.Sprintf("longer than %d bytes", MaxCursorLen))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, cursorErr("not a cursor this service issued")
	}
	bad := cursorErr("not a cursor this service issued")
	if len(b) < 2 || b[0] != cursorVersion || int(b[1]) >= len(sortCodes) {
		return nil, bad
	}
	c := &Cursor{Sort: sortCodes[b[1]]}
	b = b[2:]
	if len(b) < 8 {
		return nil, bad
	}
	c.Fingerprint = binary.BigEndian.Uint64(b)
	b = b[8:]
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return nil, bad
	}
	if off == 0 || off > MaxDepth {
		return nil, &QueryError{Field: "cursor", Reason: fmt.Sprintf("results beyond the first %d are not served; narrow the query", MaxDepth), kind: ErrTooDeep}
	}
	c.Offset = int(off)
	b = b[n:]
	if len(b) < len(c.Snapshot)+8+1 {
		return nil, bad
	}
	copy(c.Snapshot[:], b)
	b = b[len(c.Snapshot):]
	c.Key = int64(binary.BigEndian.Uint64(b))
	b = b[8:]
	idLen := int(b[0])
	b = b[1:]
	if len(b) != idLen {
		return nil, bad
	}
	c.ID = string(b)
	if err := ValidateID(c.ID); err != nil {
		return nil, bad
	}
	return c, nil
}
