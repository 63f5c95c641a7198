// Package web serves Beacon's web pages: the watch page with its HLS player, and their static assets.
package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"regexp"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures the pages.
type Config struct {
	// HLSBase is the URL prefix of HLS playlists. It defaults to "/hls".
	HLSBase string
	// Channels resolves /watch/{login} to a channel id; nil serves only
	// /watch/{channel_id}.
	Channels ChannelResolver
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
}

// ChannelResolver finds a channel's id by its name (its owner's login).
type ChannelResolver interface {
	ChannelIDByName(ctx context.Context, name string) (string, error)
}

// Pages serves the web pages.
type Pages struct {
	cfg   Config
	tmpl  *template.Template
	files http.Handler
}

// New parses the embedded templates.
func New(cfg Config) (*Pages, error) {
	if cfg.HLSBase == "" {
		cfg.HLSBase = "/hls"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	return &Pages{cfg: cfg, tmpl: t, files: http.FileServerFS(sub)}, nil
}

// Mux is where the pages are mounted (an *http.ServeMux or the API chassis).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register mounts the pages on m.
func (p *Pages) Register(m Mux) {
	m.Handle("GET /watch/{channel}", http.HandlerFunc(p.watch))
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(p.files)))
}

// validChannel is the form of channel ids and logins in URLs.
var validChannel = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

type watchData struct {
	Channel     string
	ChannelID   string
	PlaylistURL string
}

func (p *Pages) watch(w http.ResponseWriter, r *http.Request) {
	ch := r.PathValue("channel")
	if !validChannel.MatchString(ch) {
		http.Error(w, "invalid channel name", http.StatusBadRequest)
		return
	}
	id := ch
	if !allDigits(ch) {
		if p.cfg.Channels == nil {
			http.Error(w, "no such channel", http.StatusNotFound)
			return
		}
		var err error
		if id, err = p.cfg.Channels.ChannelIDByName(r.Context(), ch); err != nil {
			http.Error(w, "no such channel", http.StatusNotFound)
			return
		}
	}
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, "watch.html", watchData{Channel: ch, ChannelID: id, PlaylistURL: p.cfg.HLSBase + "/" + id + "/index.m3u8"}); err != nil {
		p.cfg.Logger.Error("rendering watch page", "channel", ch, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
	_, _ = w.Write(buf.Bytes())
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}
