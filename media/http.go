package media

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errBadPath is returned by the path parsers for anything they do not serve.
var errBadPath = errors.New("media: bad path")

type hlsKind int

const (
	hlsMaster hlsKind = iota + 1
	hlsSource
	hlsLL
	hlsRendition
)

// hlsPath is a parsed /hls/ path.
type hlsPath struct {
	kind      hlsKind
	channel   string
	rendition string // hlsRendition only
	file      string // not for hlsMaster
}

var (
	srcFileRe  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,96}\.(m3u8|ts|mp4)$`)
	rendFileRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,96}\.(m3u8|ts)$`)
)

// parseHLSPath parses /hls/{channel}/index.m3u8,
// /hls/{channel}/{source|ll}/{file} and /hls/{channel}/{rendition}/{file}.
// Every element is checked against a strict pattern: no element can be
// empty, "." or "..", or hold a separator, so no path escapes its folder.
func parseHLSPath(p string) (hlsPath, error) {
	rest, ok := strings.CutPrefix(p, "/hls/")
	if !ok {
		return hlsPath{}, errBadPath
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 || !channelRe.MatchString(parts[0]) {
		return hlsPath{}, errBadPath
	}
	hp := hlsPath{channel: parts[0]}
	if len(parts) == 2 {
		if parts[1] != "index.m3u8" {
			return hlsPath{}, errBadPath
		}
		hp.kind = hlsMaster
		return hp, nil
	}
	hp.file = parts[2]
	switch parts[1] {
	case "source":
		hp.kind = hlsSource
	case "ll":
		hp.kind = hlsLL
	default:
		if !nameRe.MatchString(parts[1]) {
			return hlsPath{}, errBadPath
		}
		hp.kind = hlsRendition
		hp.rendition = parts[1]
		if !rendFileRe.MatchString(hp.file) {
			return hlsPath{}, errBadPath
		}
		return hp, nil
	}
	if !srcFileRe.MatchString(hp.file) {
		return hlsPath{}, errBadPath
	}
	return hp, nil
}

// parseThumbnailPath parses /thumbnails/{channel}-{width}x{height}.jpg.
func parseThumbnailPath(p string) (string, Size, error) {
	rest, ok := strings.CutPrefix(p, "/thumbnails/")
	if !ok {
		return "", Size{}, errBadPath
	}
	rest, ok = strings.CutSuffix(rest, ".jpg")
	if !ok {
		return "", Size{}, errBadPath
	}
	i := strings.LastIndexByte(rest, '-')
	if i <= 0 {
		return "", Size{}, errBadPath
	}
	ch, dims := rest[:i], rest[i+1:]
	ws, hs, ok := strings.Cut(dims, "x")
	if !ok || !channelRe.MatchString(ch) {
		return "", Size{}, errBadPath
	}
	w, ok1 := smallUint(ws)
	h, ok2 := smallUint(hs)
	if !ok1 || !ok2 {
		return "", Size{}, errBadPath
	}
	return ch, Size{w, h}, nil
}

// smallUint parses 1 to 4 decimal digits without a leading zero.
func smallUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 4 || s[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

const (
	ctPlaylist = "application/vnd.apple.mpegurl"
	ccPlaylist = "no-cache"
	ccSegment  = "public, max-age=31536000, immutable"
)

func contentType(file string) string {
	switch filepath.Ext(file) {
	case ".m3u8":
		return ctPlaylist
	case ".ts":
		return "video/mp2t"
	case ".mp4":
		return "video/mp4"
	}
	return "application/octet-stream"
}

func cacheControl(file string) string {
	if strings.HasSuffix(file, ".m3u8") {
		return ccPlaylist
	}
	return ccSegment
}

// Handler returns the HTTP handler of /hls/ and /thumbnails/ (the same as
// the server itself).
func (s *Server) Handler() http.Handler { return s }

// ServeHTTP serves /hls/… and /thumbnails/…; anything else is a 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/hls/"):
		s.serveHLS(w, r)
	case strings.HasPrefix(r.URL.Path, "/thumbnails/"):
		s.serveThumbnail(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) {
	hp, err := parseHLSPath(r.URL.Path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	c := s.channel(hp.channel)
	if c == nil {
		http.Error(w, "channel not live", http.StatusNotFound)
		return
	}
	switch hp.kind {
	case hlsMaster:
		s.serveMaster(w, r, c)
	case hlsSource:
		serveMuxer(w, r, c.src, hp.file)
	case hlsLL:
		if c.ll == nil {
			http.NotFound(w, r)
			return
		}
		serveMuxer(w, r, c.ll, hp.file)
	case hlsRendition:
		s.serveRendition(w, r, c, hp)
	}
}

// waitReady waits until the channel's first source segment is complete, at
// most a few segment durations.
func (s *Server) waitReady(r *http.Request, c *channel) bool {
	deadline := time.Now().Add(3*s.cfg.SegmentDuration + 5*time.Second)
	for {
		c.mu.Lock()
		ready, ended := !c.readyAt.IsZero(), c.ended
		c.mu.Unlock()
		if ready {
			return true
		}
		if ended || time.Now().After(deadline) {
			return false
		}
		select {
		case <-r.Context().Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) serveMaster(w http.ResponseWriter, r *http.Request, c *channel) {
	if !s.waitReady(r, c) {
		http.Error(w, "stream not ready", http.StatusServiceUnavailable)
		return
	}
	body := masterPlaylist(c.variants())
	h := w.Header()
	h.Set("Content-Type", ctPlaylist)
	h.Set("Cache-Control", ccPlaylist)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// variants lists the source and the renditions for the master playlist.
func (c *channel) variants() []variant {
	c.mu.Lock()
	defer c.mu.Unlock()
	codecs := func(v string) string {
		if c.acodec != "" {
			return v + "," + c.acodec
		}
		return v
	}
	br := max(c.bitrate.Load(), c.mediaBitrate())
	vs := []variant{{
		URI:       "source/main_stream.m3u8",
		Bandwidth: int(br) * 13 / 10, // peak over average, plus MPEG-TS overhead
		Width:     c.video.Width, Height: c.video.Height, FPS: c.video.FPS,
		Codecs: codecs(c.video.Codec),
	}}
	if c.ldr != nil {
		for _, p := range c.ldr.plan {
			vs = append(vs, variant{
				URI:       p.Name + "/index.m3u8",
				Bandwidth: c.renditionBandwidth(p),
				Width:     p.Width, Height: p.Height, FPS: p.OutFPS,
				Codecs: codecs(p.Codecs),
			})
		}
	}
	return vs
}

// headerWriter rewrites the caching headers gohlslib sets and remembers
// whether anything was written.
type headerWriter struct {
	http.ResponseWriter
	file  string
	wrote bool
}

func (hw *headerWriter) WriteHeader(code int) {
	if !hw.wrote {
		hw.wrote = true
		h := hw.Header()
		if code == http.StatusOK {
			h.Set("Cache-Control", cacheControl(hw.file))
			h.Set("Content-Type", contentType(hw.file))
		}
	}
	hw.ResponseWriter.WriteHeader(code)
}

func (hw *headerWriter) Write(b []byte) (int, error) {
	if !hw.wrote {
		hw.WriteHeader(http.StatusOK)
	}
	return hw.ResponseWriter.Write(b)
}

func serveMuxer(w http.ResponseWriter, r *http.Request, m interface {
	Handle(http.ResponseWriter, *http.Request)
}, file string) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + file
	r2.Method = http.MethodGet
	if strings.HasSuffix(file, ".m3u8") {
		hw := &headerWriter{ResponseWriter: w, file: file}
		m.Handle(hw, r2)
		if !hw.wrote {
			http.NotFound(w, r)
		}
		return
	}
	// gohlslib streams segments without a length; buffer them so that
	// clients get Content-Length and byte ranges (ffprobe needs them to read
	// a segment's duration, players to resume).
	bw := &bufferWriter{header: http.Header{}}
	m.Handle(bw, r2)
	if bw.code == 0 {
		http.NotFound(w, r)
		return
	}
	if bw.code != http.StatusOK {
		w.WriteHeader(bw.code)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType(file))
	h.Set("Cache-Control", ccSegment)
	http.ServeContent(w, r, file, time.Time{}, bytes.NewReader(bw.buf.Bytes()))
}

// bufferWriter collects a response in memory.
type bufferWriter struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.buf.Write(p)
}

func (s *Server) serveRendition(w http.ResponseWriter, r *http.Request, c *channel, hp hlsPath) {
	if c.ldr == nil {
		http.NotFound(w, r)
		return
	}
	known := false
	for _, p := range c.ldr.plan {
		known = known || p.Name == hp.rendition
	}
	if !known {
		http.NotFound(w, r)
		return
	}
	path := filepath.Join(c.dir, hp.rendition, hp.file)
	h := w.Header()
	if strings.HasSuffix(hp.file, ".m3u8") {
		// The first playlist appears a segment or two after the stream
		// starts (and after an ffmpeg restart): wait for it a little.
		deadline := time.Now().Add(3*s.cfg.SegmentDuration + 5*time.Second)
		for {
			body, err := os.ReadFile(path)
			if err == nil {
				h.Set("Content-Type", ctPlaylist)
				h.Set("Cache-Control", ccPlaylist)
				h.Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(http.StatusOK)
				if r.Method != http.MethodHead {
					_, _ = w.Write(body)
				}
				return
			}
			if time.Now().After(deadline) {
				http.NotFound(w, r)
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	f, err := os.Open(path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h.Set("Content-Type", contentType(hp.file))
	h.Set("Cache-Control", ccSegment)
	http.ServeContent(w, r, hp.file, st.ModTime(), f)
}

func (s *Server) serveThumbnail(w http.ResponseWriter, r *http.Request) {
	ch, size, err := parseThumbnailPath(r.URL.Path)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	c := s.channel(ch)
	if c == nil || c.tp == nil {
		http.Error(w, "channel not live", http.StatusNotFound)
		return
	}
	set := c.tp.thumbs.Load()
	if set == nil {
		http.Error(w, "no thumbnail yet", http.StatusNotFound)
		return
	}
	body, ok := set.jpeg[size]
	if !ok {
		http.Error(w, "size not offered", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.ThumbnailInterval.Seconds()/2)))
	h.Set("Last-Modified", set.at.UTC().Format(http.TimeFormat))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
