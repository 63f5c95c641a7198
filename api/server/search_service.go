package server

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	apiv1 "github.com/beaconlive/beacon/api/gen/beacon/api/v1"
	"github.com/beaconlive/beacon/search"
	"github.com/beaconlive/beacon/store"
)

// channelSearcher is the slice of search.Index the directory APIs use.
type channelSearcher interface {
	Search(ctx context.Context, q search.Query) (search.Result, error)
}

// categoryLister is the slice of the store the category APIs use.
type categoryLister interface {
	Categories(ctx context.Context) ([]store.Category, error)
}

// Limits of the directory APIs beyond those search.Query enforces.
const (
	maxSuggestPrefix  = 64
	defaultSuggest    = 8
	maxSuggest        = 20
	defaultCategories = 20
	maxCategories     = 50
)

// DirectoryService implements StreamsService and SearchService over the
// search index and the category catalogue.
type DirectoryService struct {
	apiv1.UnimplementedStreamsServiceServer
	apiv1.UnimplementedSearchServiceServer
	streams    *StreamService
	index      channelSearcher
	categories categoryLister
}

// directoryIndex is what the directory APIs need of the search index.
type directoryIndex interface {
	channelSearcher
	channelGetter
}

// NewDirectoryService returns the directory APIs over index and categories;
// live (may be nil) tells which channels the media stage serves.
func NewDirectoryService(index directoryIndex, categories categoryLister, live liveSource) *DirectoryService {
	return &DirectoryService{streams: NewStreamService(index, live), index: index, categories: categories}
}

// GetStream implements StreamsService.
func (d *DirectoryService) GetStream(ctx context.Context, req *apiv1.GetStreamRequest) (*apiv1.GetStreamResponse, error) {
	return d.streams.GetStream(ctx, req)
}

// Register adds the directory services to s.
func (d *DirectoryService) Register(s *Server) {
	apiv1.RegisterStreamsServiceServer(s.GRPC(), d)
	apiv1.RegisterSearchServiceServer(s.GRPC(), d)
	s.RegisterGateway(apiv1.RegisterStreamsServiceHandler)
	s.RegisterGateway(apiv1.RegisterSearchServiceHandler)
}

func searchError(err error) error {
	switch {
	case errors.Is(err, search.ErrInvalidQuery):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "search timed out")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request cancelled")
	default:
		return status.Error(codes.Unavailable, "search index unavailable")
	}
}

func sortOf(s apiv1.StreamSort) search.Sort {
	switch s {
	case apiv1.StreamSort_STREAM_SORT_RELEVANCE:
		return search.SortRelevance
	case apiv1.StreamSort_STREAM_SORT_VIEWERS:
		return search.SortViewers
	case apiv1.StreamSort_STREAM_SORT_RECENCY:
		return search.SortRecency
	default:
		return search.SortDefault
	}
}

func pageLimit(n int32) (int, error) {
	if n < 0 {
		return 0, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	if n > search.MaxLimit {
		n = search.MaxLimit
	}
	return int(n), nil
}

func toStream(h search.Hit) *apiv1.Stream {
	s := &apiv1.Stream{
		ChannelId: h.ID, Login: h.Login, DisplayName: h.DisplayName, Title: h.Title,
		CategoryId: h.CategoryID, CategoryName: h.CategoryName, Language: h.Language,
		Tags: h.Tags(), StreamerTags: h.StreamerTags, SmartTags: h.SmartTags,
		Mature: h.Mature, Live: h.Live, ViewerCount: h.ViewerCount, ThumbnailUrl: h.ThumbnailURL,
	}
	if !h.StartedAt.IsZero() {
		s.StartedAt = timestamppb.New(h.StartedAt)
	}
	return s
}

func toFacets(f *search.Facets) *apiv1.Facets {
	if f == nil {
		return nil
	}
	conv := func(vs []search.FacetValue) []*apiv1.Facet {
		out := make([]*apiv1.Facet, 0, len(vs))
		for _, v := range vs {
			out = append(out, &apiv1.Facet{Value: v.Value, Label: v.Label, Count: int64(v.Count), Viewers: v.Viewers})
		}
		return out
	}
	return &apiv1.Facets{Categories: conv(f.Categories), Languages: conv(f.Languages), Tags: conv(f.Tags)}
}

// ListStreams implements StreamsService.
func (d *DirectoryService) ListStreams(ctx context.Context, req *apiv1.ListStreamsRequest) (*apiv1.ListStreamsResponse, error) {
	limit, err := pageLimit(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	live := true
	q := search.Query{
		Live: &live, CategoryIDs: req.GetCategoryId(), Languages: req.GetLanguage(),
		TagsAll: req.GetTagsAll(), TagsAny: req.GetTagsAny(), Sort: sortOf(req.GetSort()),
		Facets: req.GetFacets(), Limit: limit, Cursor: req.GetPageToken(),
	}
	if q.Sort == search.SortDefault || q.Sort == search.SortRelevance {
		q.Sort = search.SortViewers // no text: relevance means nothing here
	}
	if m := req.GetMature(); m != "" {
		b, err := strconv.ParseBool(m)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "mature must be true or false, got %q", m)
		}
		q.Mature = &b
	}
	res, err := d.index.Search(ctx, q)
	if err != nil {
		return nil, searchError(err)
	}
	out := &apiv1.ListStreamsResponse{NextPageToken: res.NextCursor, Total: int64(res.Total), Facets: toFacets(res.Facets)}
	for _, h := range res.Hits {
		out.Streams = append(out.Streams, toStream(h))
	}
	return out, nil
}

// SearchChannels implements SearchService.
func (d *DirectoryService) SearchChannels(ctx context.Context, req *apiv1.SearchChannelsRequest) (*apiv1.SearchChannelsResponse, error) {
	limit, err := pageLimit(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	q := search.Query{
		Text: req.GetQuery(), CategoryIDs: req.GetCategoryId(), Languages: req.GetLanguage(),
		Sort: sortOf(req.GetSort()), Limit: limit, Cursor: req.GetPageToken(),
	}
	if req.GetLiveOnly() {
		live := true
		q.Live = &live
	}
	res, err := d.index.Search(ctx, q)
	if err != nil {
		return nil, searchError(err)
	}
	out := &apiv1.SearchChannelsResponse{NextPageToken: res.NextCursor, Total: int64(res.Total)}
	for _, h := range res.Hits {
		out.Channels = append(out.Channels, toStream(h))
	}
	return out, nil
}

// liveCategoryStats returns live channels and viewers per category id.
func (d *DirectoryService) liveCategoryStats(ctx context.Context) (map[string]search.FacetValue, error) {
	live := true
	res, err := d.index.Search(ctx, search.Query{Live: &live, Facets: true, FacetSize: search.MaxFacetSize, Limit: 1, Sort: search.SortViewers})
	if err != nil {
		return nil, searchError(err)
	}
	out := map[string]search.FacetValue{}
	if res.Facets != nil {
		for _, f := range res.Facets.Categories {
			out[f.Value] = f
		}
	}
	return out, nil
}

func (d *DirectoryService) matchCategories(ctx context.Context, text string, prefixOnly bool, limit int) ([]*apiv1.Category, error) {
	cats, err := d.categories.Categories(ctx)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "category catalogue unavailable")
	}
	stats, err := d.liveCategoryStats(ctx)
	if err != nil {
		return nil, err
	}
	needle := strings.ToLower(strings.TrimSpace(text))
	type scored struct {
		c    *apiv1.Category
		rank int
	}
	var hits []scored
	for _, c := range cats {
		name := strings.ToLower(c.Name)
		rank := -1
		switch {
		case needle == "":
			rank = 2
		case strings.HasPrefix(name, needle):
			rank = 0
		case !prefixOnly && strings.Contains(name, needle):
			rank = 1
		}
		if rank < 0 {
			continue
		}
		id := strconv.FormatInt(int64(c.ID), 10)
		st := stats[id]
		hits = append(hits, scored{&apiv1.Category{Id: id, Name: c.Name, LiveChannels: int64(st.Count), Viewers: st.Viewers}, rank})
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if hits[i].rank != hits[j].rank {
			return hits[i].rank < hits[j].rank
		}
		if hits[i].c.Viewers != hits[j].c.Viewers {
			return hits[i].c.Viewers > hits[j].c.Viewers
		}
		return hits[i].c.Name < hits[j].c.Name
	})
	var out []*apiv1.Category
	for i := 0; i < len(hits) && i < limit; i++ {
		out = append(out, hits[i].c)
	}
	return out, nil
}

func checkText(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return status.Errorf(codes.InvalidArgument, "%s must be valid UTF-8", field)
	}
	if len(s) > maxLen {
		return status.Errorf(codes.InvalidArgument, "%s is longer than %d bytes", field, maxLen)
	}
	return nil
}

// SearchCategories implements SearchService.
func (d *DirectoryService) SearchCategories(ctx context.Context, req *apiv1.SearchCategoriesRequest) (*apiv1.SearchCategoriesResponse, error) {
	if err := checkText("query", req.GetQuery(), search.MaxTextLen); err != nil {
		return nil, err
	}
	n := int(req.GetPageSize())
	if n <= 0 {
		n = defaultCategories
	}
	n = min(n, maxCategories)
	cats, err := d.matchCategories(ctx, req.GetQuery(), false, n)
	if err != nil {
		return nil, err
	}
	return &apiv1.SearchCategoriesResponse{Categories: cats}, nil
}

// TopCategories implements SearchService. It ranks the categories of the
// MaxFacetSize largest live facets by viewers.
func (d *DirectoryService) TopCategories(ctx context.Context, req *apiv1.TopCategoriesRequest) (*apiv1.TopCategoriesResponse, error) {
	if req.GetPageSize() < 0 {
		return nil, status.Error(codes.InvalidArgument, "page_size must not be negative")
	}
	n := int(req.GetPageSize())
	if n == 0 {
		n = defaultCategories
	}
	n = min(n, maxCategories)
	stats, err := d.liveCategoryStats(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*apiv1.Category, 0, len(stats))
	for _, f := range stats {
		out = append(out, &apiv1.Category{Id: f.Value, Name: f.Label, LiveChannels: int64(f.Count), Viewers: f.Viewers})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Viewers != out[j].Viewers {
			return out[i].Viewers > out[j].Viewers
		}
		return out[i].Id < out[j].Id
	})
	if len(out) > n {
		out = out[:n]
	}
	return &apiv1.TopCategoriesResponse{Categories: out}, nil
}

// Suggest implements SearchService.
func (d *DirectoryService) Suggest(ctx context.Context, req *apiv1.SuggestRequest) (*apiv1.SuggestResponse, error) {
	p := req.GetPrefix()
	if strings.TrimSpace(p) == "" {
		return nil, status.Error(codes.InvalidArgument, "prefix must not be empty")
	}
	if err := checkText("prefix", p, maxSuggestPrefix); err != nil {
		return nil, err
	}
	n := int(req.GetLimit())
	if n < 0 {
		return nil, status.Error(codes.InvalidArgument, "limit must not be negative")
	}
	if n == 0 {
		n = defaultSuggest
	}
	n = min(n, maxSuggest)
	res, err := d.index.Search(ctx, search.Query{Text: p, Sort: search.SortRelevance, Limit: n})
	if err != nil {
		return nil, searchError(err)
	}
	out := &apiv1.SuggestResponse{}
	for _, h := range res.Hits {
		out.Channels = append(out.Channels, toStream(h))
	}
	if out.Categories, err = d.matchCategories(ctx, p, true, n); err != nil {
		return nil, err
	}
	return out, nil
}
