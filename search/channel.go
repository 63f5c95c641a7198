package search

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Safety is a channel's safety state in the directory.
type Safety string

// Safety states.
const (
	// SafetyVisible channels are listed. It is the zero value's meaning.
	SafetyVisible Safety = "visible"
	// SafetyHidden channels have a confirmed safety flag and are left out of
	// search results unless Query.IncludeHidden is set.
	SafetyHidden Safety = "hidden"
)

// Limits on documents.
const (
	// MaxIDLen is the longest channel id, in bytes.
	MaxIDLen = 64
	// MaxFieldLen is the longest text field (title, names, URL), in bytes.
	MaxFieldLen = 512
	// MaxTags is the most tags of each kind a channel may have.
	MaxTags = 32
	// MaxTagLen is the longest tag, in bytes.
	MaxTagLen = 64
)

// Channel is the search document of one channel.
type Channel struct {
	// ID is the channel id, the document key: 1 to MaxIDLen bytes of
	// [A-Za-z0-9._:-].
	ID string `json:"id"`
	// Login is the channel's unique login name.
	Login string `json:"login"`
	// DisplayName is the streamer's display name.
	DisplayName string `json:"display_name"`
	// Title is the stream title.
	Title string `json:"title"`
	// CategoryID and CategoryName name the stream's category.
	CategoryID   string `json:"category_id"`
	CategoryName string `json:"category_name"`
	// Language is the stream language (ISO 639-1, lower case).
	Language string `json:"language"`
	// StreamerTags are the tags the streamer chose.
	StreamerTags []string `json:"streamer_tags,omitempty"`
	// SmartTags are the tags the models proposed and the streamer kept.
	SmartTags []string `json:"smart_tags,omitempty"`
	// Mature marks mature content.
	Mature bool `json:"mature"`
	// Live is true while the channel is broadcasting.
	Live bool `json:"live"`
	// StartedAt is when the current (or last) broadcast started.
	StartedAt time.Time `json:"started_at"`
	// ViewerCount is the number of concurrent viewers.
	ViewerCount int64 `json:"viewer_count"`
	// ThumbnailURL is the stream thumbnail.
	ThumbnailURL string `json:"thumbnail_url"`
	// Safety is the directory safety state. Empty means SafetyVisible.
	Safety Safety `json:"safety"`
}

// Tags returns the streamer tags and Smart Tags together, without duplicates,
// streamer tags first.
func (c Channel) Tags() []string {
	out := make([]string, 0, len(c.StreamerTags)+len(c.SmartTags))
	for _, t := range c.StreamerTags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range c.SmartTags {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// Hidden reports whether the channel is hidden from the directory.
func (c Channel) Hidden() bool { return c.Safety == SafetyHidden }

// Normalize returns c in the form backends store: tags trimmed, lower-cased and
// de-duplicated, language lower-cased, empty safety made SafetyVisible and the
// start time in UTC truncated to milliseconds.
func (c Channel) Normalize() Channel {
	c.StreamerTags = NormalizeTags(c.StreamerTags)
	c.SmartTags = NormalizeTags(c.SmartTags)
	c.Language = strings.ToLower(strings.TrimSpace(c.Language))
	c.CategoryID = strings.TrimSpace(c.CategoryID)
	if c.Safety == "" {
		c.Safety = SafetyVisible
	}
	if !c.StartedAt.IsZero() {
		c.StartedAt = c.StartedAt.UTC().Truncate(time.Millisecond)
	}
	return c
}

// NormalizeTags trims, lower-cases and de-duplicates tags, dropping empty ones,
// keeping first-seen order. Tags compare case-insensitively everywhere.
func NormalizeTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Validate checks c against the document limits. Backends call it on the
// normalized document before writing it.
func (c Channel) Validate() error {
	if err := ValidateID(c.ID); err != nil {
		return err
	}
	for name, v := range map[string]string{
		"login": c.Login, "display_name": c.DisplayName, "title": c.Title,
		"category_id": c.CategoryID, "category_name": c.CategoryName,
		"language": c.Language, "thumbnail_url": c.ThumbnailURL,
	} {
		if len(v) > MaxFieldLen {
			return docErr(c.ID, name, fmt.Sprintf("longer than %d bytes", MaxFieldLen))
		}
		if !utf8.ValidString(v) {
			return docErr(c.ID, name, "not valid UTF-8")
		}
	}
	for name, tags := range map[string][]string{"streamer_tags": c.StreamerTags, "smart_tags": c.SmartTags} {
		if len(tags) > MaxTags {
			return docErr(c.ID, name, fmt.Sprintf("more than %d tags", MaxTags))
		}
		for _, t := range tags {
			if len(t) > MaxTagLen || !utf8.ValidString(t) {
				return docErr(c.ID, name, fmt.Sprintf("tag longer than %d bytes or not valid UTF-8", MaxTagLen))
			}
		}
	}
	switch c.Safety {
	case "", SafetyVisible, SafetyHidden:
	default:
		return docErr(c.ID, "safety", fmt.Sprintf("unknown state %q", string(c.Safety)))
	}
	if c.ViewerCount < 0 {
		return docErr(c.ID, "viewer_count", "negative")
	}
	return nil
}

// ValidateID checks a channel id: 1 to MaxIDLen bytes of [A-Za-z0-9._:-].
func ValidateID(id string) error {
	if id == "" {
		return docErr(id, "id", "empty")
	}
	if len(id) > MaxIDLen {
		return docErr("", "id", fmt.Sprintf("longer than %d bytes", MaxIDLen))
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return docErr("", "id", fmt.Sprintf("byte %d is not one of [A-Za-z0-9._:-]", i))
		}
	}
	return nil
}

func idByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '.' || b == '_' || b == ':' || b == '-'
}

// Patch is a partial update of a Channel: nil fields are left as they are.
type Patch struct {
	Login        *string    `json:"login,omitempty"`
	DisplayName  *string    `json:"display_name,omitempty"`
	Title        *string    `json:"title,omitempty"`
	CategoryID   *string    `json:"category_id,omitempty"`
	CategoryName *string    `json:"category_name,omitempty"`
	Language     *string    `json:"language,omitempty"`
	StreamerTags *[]string  `json:"streamer_tags,omitempty"`
	SmartTags    *[]string  `json:"smart_tags,omitempty"`
	Mature       *bool      `json:"mature,omitempty"`
	Live         *bool      `json:"live,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	ViewerCount  *int64     `json:"viewer_count,omitempty"`
	ThumbnailURL *string    `json:"thumbnail_url,omitempty"`
	Safety       *Safety    `json:"safety,omitempty"`
}

// Ptr returns a pointer to v, for building a Patch.
func Ptr[T any](v T) *T { return &v }

// FullPatch returns the Patch that sets every field of c.
func FullPatch(c Channel) Patch {
	return Patch{
		Login: &c.Login, DisplayName: &c.DisplayName, Title: &c.Title,
		CategoryID: &c.CategoryID, CategoryName: &c.CategoryName, Language: &c.Language,
		StreamerTags: Ptr(slices.Clone(c.StreamerTags)), SmartTags: Ptr(slices.Clone(c.SmartTags)),
		Mature: &c.Mature, Live: &c.Live, StartedAt: &c.StartedAt, ViewerCount: &c.ViewerCount,
		ThumbnailURL: &c.ThumbnailURL, Safety: &c.Safety,
	}
}

// Apply returns c with p's non-nil fields set.
func (p Patch) Apply(c Channel) Channel {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Login, p.Login)
	set(&c.DisplayName, p.DisplayName)
	set(&c.Title, p.Title)
	set(&c.CategoryID, p.CategoryID)
	set(&c.CategoryName, p.CategoryName)
	set(&c.Language, p.Language)
	set(&c.ThumbnailURL, p.ThumbnailURL)
	if p.StreamerTags != nil {
		c.StreamerTags = slices.Clone(*p.StreamerTags)
	}
	if p.SmartTags != nil {
		c.SmartTags = slices.Clone(*p.SmartTags)
	}
	if p.Mature != nil {
		c.Mature = *p.Mature
	}
	if p.Live != nil {
		c.Live = *p.Live
	}
	if p.StartedAt != nil {
		c.StartedAt = *p.StartedAt
	}
	if p.ViewerCount != nil {
		c.ViewerCount = *p.ViewerCount
	}
	if p.Safety != nil {
		c.Safety = *p.Safety
	}
	return c
}

// OnlyViewerCount reports whether p sets ViewerCount and nothing else: the hot
// path that backends may keep out of their text index.
func (p Patch) OnlyViewerCount() bool {
	return p.ViewerCount != nil && p == Patch{ViewerCount: p.ViewerCount}
}

// Empty reports whether p changes nothing.
func (p Patch) Empty() bool { return p == Patch{} }

// Op is one operation of a Bulk call: an upsert of Patch, or a delete.
type Op struct {
	// ID is the channel id.
	ID string
	// Delete removes the document; Patch is then ignored.
	Delete bool
	// Patch is applied (upsert) when Delete is false.
	Patch Patch
}
