package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// tapInput is everything tapArgs needs.
type tapInput struct {
	// Width and Height of the frames ffmpeg returns (see tapFrameSize).
	Width, Height int
}

// tapFrameSize is the size the tap decodes to: the source's aspect ratio,
// scaled (down only) to the smallest size that still covers every target
// (the sample size and the thumbnail sizes) after a centre crop. Even
// dimensions, at least 2×2.
func tapFrameSize(srcW, srcH int, targets []Size) Size {
	f := 0.0
	for _, t := range targets {
		f = math.Max(f, math.Max(float64(t.Width)/float64(srcW), float64(t.Height)/float64(srcH)))
	}
	f = math.Min(f, 1)
	even := func(v float64) int { return max(2, int(math.Ceil(v/2))*2) }
	return Size{even(float64(srcW) * f), even(float64(srcH) * f)}
}

// tapArgs builds the argv of the frame tap: an FLV stream on stdin holding
// only the IDRs picked for sampling (so ffmpeg decodes one frame per sample,
// the cheap equivalent of -skip_frame nokey on the whole stream), decoded on
// one thread, scaled once and written to stdout as raw RGBA frames of a
// known size. Go then centre-crops and scales samples and thumbnails from
// each frame.
//
// FLV rather than raw H.264: its tags carry their size, so no parser has to
// guess where an access unit ends. ffmpeg still returns each frame only
// once the next one has arrived, and holds as many more as the stream's
// reorder depth (B-frames): samples come out one to four sample intervals
// late. The capture time travels separately, so it stays exact.
func tapArgs(in tapInput) []string {
	return []string{
		"-hide_banner", "-nostats", "-nostdin", "-loglevel", "error",
		"-threads", "1", "-flags", "low_delay",
		"-fflags", "nobuffer", "-probesize", "32", "-analyzeduration", "0",
		"-f", "flv", "-i", "pipe:0",
		"-filter_threads", "1",
		"-vf", "scale=" + strconv.Itoa(in.Width) + ":" + strconv.Itoa(in.Height) + ":flags=area,format=rgba",
		"-fps_mode", "passthrough", "-f", "rawvideo", "-flush_packets", "1", "pipe:1",
	}
}

// flvHeader starts the tap's input: FLV header (video only) and the
// PreviousTagSize0 field.
var flvHeader = []byte{'F', 'L', 'V', 1, 1, 0, 0, 0, 9, 0, 0, 0, 0}

// flvTag appends an FLV tag of type typ with timestamp ts (ms) and body.
func flvTag(dst []byte, typ byte, ts uint32, body ...[]byte) []byte {
	n := 0
	for _, b := range body {
		n += len(b)
	}
	dst = append(dst, typ, byte(n>>16), byte(n>>8), byte(n), byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
	for _, b := range body {
		dst = append(dst, b...)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(11+n))
}

// flvAVCSequenceHeader is the AVC sequence header tag built from sps and pps.
func flvAVCSequenceHeader(sps, pps []byte) []byte {
	rec := []byte{0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xFF, 0xE1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	rec = append(rec, sps...)
	rec = append(rec, 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(pps)))
	rec = append(rec, pps...)
	return flvTag(nil, 9, 0, rec)
}

// flvIDR is the video tag of an IDR access unit (SPS and PPS in band; access
// unit delimiters dropped), NAL units with 4-byte lengths.
func flvIDR(ts uint32, au [][]byte) []byte {
	body := []byte{0x17, 1, 0, 0, 0}
	for _, n := range au {
		if len(n) == 0 || h264.NALUType(n[0]&0x1F) == h264.NALUTypeAccessUnitDelimiter {
			continue
		}
		body = binary.BigEndian.AppendUint32(body, uint32(len(n)))
		body = append(body, n...)
	}
	return flvTag(nil, 9, ts, body)
}

// tapItem is one IDR picked for decoding.
type tapItem struct {
	pts     time.Duration
	capture time.Time
	tag     []byte
}

type pendingFrame struct {
	pts     time.Duration
	capture time.Time
	sent    time.Time
}

// tapMaxPending bounds the frames ffmpeg may hold; beyond it new samples are
// dropped and counted. ffmpeg holds one frame (it returns a frame when the
// next arrives) plus the stream's reorder depth (its SPS max_num_reorder
// frames, 2 or 3 with x264 B-frames), so the bound leaves room for those.
const tapMaxPending = 6

// tap runs the frame tap ffmpeg of one stream and turns its output into
// published frames and thumbnails.
type tap struct {
	log         *slog.Logger
	ffmpeg      string
	channelID   string
	broadcastID string
	interval    time.Duration
	quality     int
	rgb         bool // samples as packed RGB instead of JPEG
	minB, maxB  time.Duration
	input       tapInput
	sample      *Size // nil without the sampler
	thumbSizes  []Size
	thumbEvery  int // every thumbEvery-th frame refreshes the thumbnails; 0 without thumbnails
	frames      framePublisher
	metrics     *metrics

	in  chan tapItem
	pub chan Frame

	// lastPTS and started pick the IDRs, seqHeader starts every run's
	// input; used under the channel's lock (seqHeader is set before the
	// first item is queued and never changes).
	lastPTS   time.Duration
	started   bool
	seqHeader []byte

	mu      sync.Mutex
	pending []pendingFrame

	thumbs   atomic.Pointer[thumbSet]
	sampled  atomic.Int64
	dropped  atomic.Int64
	restarts atomic.Int64
	curPID   atomic.Int64
}

// thumbSet is one refresh of a channel's thumbnails.
type thumbSet struct {
	at   time.Time
	jpeg map[Size][]byte
}

func newTap(log *slog.Logger, cfg Config, channelID, broadcastID string, srcW, srcH int, m *metrics) *tap {
	if cfg.SamplerDisabled && cfg.ThumbnailsDisabled {
		return nil
	}
	t := &tap{
		log:         log.With("component", "tap"),
		ffmpeg:      cfg.FFmpegPath,
		channelID:   channelID,
		broadcastID: broadcastID,
		quality:     cfg.JPEGQuality,
		rgb:         cfg.SampleRGB,
		minB:        cfg.RestartBackoff,
		maxB:        cfg.RestartBackoffMax,
		frames:      cfg.Frames,
		metrics:     m,
		in:          make(chan tapItem, 1),
		pub:         make(chan Frame, cfg.FrameQueue),
		interval:    cfg.SampleInterval,
	}
	var targets []Size
	if !cfg.SamplerDisabled {
		s := cfg.SampleSize
		t.sample = &s
		targets = append(targets, s)
	} else {
		t.interval = cfg.ThumbnailInterval
	}
	if !cfg.ThumbnailsDisabled {
		t.thumbSizes = cfg.ThumbnailSizes
		t.thumbEvery = max(1, int(cfg.ThumbnailInterval/t.interval))
		targets = append(targets, cfg.ThumbnailSizes...)
	}
	fs := tapFrameSize(srcW, srcH, targets)
	t.input = tapInput(fs)
	return t
}

// offer picks an IDR for decoding when a sample is due. It never blocks.
// Called with the channel's lock held.
func (t *tap) offer(pts time.Duration, capture time.Time, au [][]byte) {
	if t.started && pts-t.lastPTS < t.interval-t.interval/20 && pts >= t.lastPTS {
		return
	}
	t.started = true
	t.lastPTS = pts
	if t.seqHeader == nil {
		in := scanAU(au)
		if in.sps == nil || in.pps == nil || len(in.sps) < 4 {
			return
		}
		t.seqHeader = flvAVCSequenceHeader(in.sps, in.pps)
	}
	b := flvIDR(uint32(pts/time.Millisecond), au)
	select {
	case t.in <- tapItem{pts: pts, capture: capture, tag: b}:
	default:
		t.drop()
	}
}

func (t *tap) drop() {
	t.dropped.Add(1)
	t.metrics.dropped.WithLabelValues("sampler").Inc()
}

// run supervises ffmpeg and publishes frames until ctx ends.
func (t *tap) run(ctx context.Context) {
	var wg sync.WaitGroup
	if t.sample != nil {
		wg.Go(func() { t.publishLoop(ctx) })
	}
	supervise(ctx, t.log, t.minB, t.maxB, t.runOnce, func(error) {
		t.restarts.Add(1)
		t.metrics.restarts.WithLabelValues("tap").Inc()
	})
	wg.Wait()
}

func (t *tap) runOnce(ctx context.Context) error {
	p, err := startFFmpeg(ctx, t.ffmpeg, tapArgs(t.input), true, 0)
	if err != nil {
		return err
	}
	t.curPID.Store(int64(p.pid()))
	defer t.curPID.Store(0)
	t.mu.Lock()
	t.pending = t.pending[:0]
	t.mu.Unlock()

	var wg sync.WaitGroup
	wg.Go(func() { t.readFrames(p.stdout) })
	defer wg.Wait()

	wroteHeader := false
	for {
		select {
		case <-ctx.Done():
			p.stop(0)
			return ctx.Err()
		case <-p.exited:
			return p.exitError()
		case it := <-t.in:
			t.mu.Lock()
			if len(t.pending) >= tapMaxPending {
				t.mu.Unlock()
				t.drop()
				continue
			}
			t.pending = append(t.pending, pendingFrame{pts: it.pts, capture: it.capture, sent: time.Now()})
			t.mu.Unlock()
			var err error
			if !wroteHeader {
				wroteHeader = true
				_, err = p.stdin.Write(append(append([]byte{}, flvHeader...), t.seqHeader...))
			}
			if err == nil {
				_, err = p.stdin.Write(it.tag)
			}
			if err != nil {
				p.stop(2 * time.Second)
				return fmt.Errorf("media: feeding the frame tap: %w (%v)", err, p.exitError())
			}
		}
	}
}

// popPending returns the capture data of the frame ffmpeg just returned.
// Entries that waited far longer than a sample interval belong to frames
// ffmpeg could not decode and are skipped.
func (t *tap) popPending() (pendingFrame, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	stale := time.Duration(tapMaxPending+1)*t.interval + 2*time.Second
	for len(t.pending) > 1 && time.Since(t.pending[0].sent) > stale {
		t.pending = t.pending[1:]
	}
	if len(t.pending) == 0 {
		return pendingFrame{}, false
	}
	f := t.pending[0]
	t.pending = t.pending[1:]
	return f, true
}

// readFrames turns every decoded frame into a sample and, every
// thumbEvery frames, into a new set of thumbnails.
func (t *tap) readFrames(r io.Reader) {
	n := 0
	for {
		img := image.NewRGBA(image.Rect(0, 0, t.input.Width, t.input.Height))
		if _, err := io.ReadFull(r, img.Pix); err != nil {
			return
		}
		pf, ok := t.popPending()
		if !ok {
			pf = pendingFrame{capture: time.Now()}
		}
		if t.sample != nil {
			t.emitSample(img, pf)
		}
		if t.thumbEvery > 0 && n%t.thumbEvery == 0 {
			t.makeThumbnails(img)
		}
		n++
	}
}

func (t *tap) emitSample(img *image.RGBA, pf pendingFrame) {
	s := *t.sample
	f := Frame{
		ChannelID:   t.channelID,
		BroadcastID: t.broadcastID,
		CaptureTime: pf.capture,
		PTS:         pf.pts,
		Width:       s.Width,
		Height:      s.Height,
	}
	scaled := scaleCropRGBA(img, s.Width, s.Height)
	if t.rgb {
		f.RGB = packRGB(scaled)
	} else {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, scaled, &jpeg.Options{Quality: t.quality}); err != nil {
			return
		}
		f.JPEG = buf.Bytes()
	}
	select {
	case t.pub <- f:
	default:
		t.dropped.Add(1)
		t.metrics.dropped.WithLabelValues("publish").Inc()
	}
}

func (t *tap) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-t.pub:
			t.sampled.Add(1)
			t.metrics.frames.Inc()
			if t.frames == nil {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := t.frames.PublishFrame(pctx, f)
			cancel()
			if err != nil && ctx.Err() == nil {
				t.log.Warn("publishing a frame failed", "error", err)
			}
		}
	}
}

func (t *tap) makeThumbnails(img *image.RGBA) {
	set := &thumbSet{at: time.Now(), jpeg: make(map[Size][]byte, len(t.thumbSizes))}
	for _, size := range t.thumbSizes {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, scaleCropRGBA(img, size.Width, size.Height),
			&jpeg.Options{Quality: t.quality}); err != nil {
			continue
		}
		set.jpeg[size] = buf.Bytes()
	}
	t.thumbs.Store(set)
	t.metrics.thumbnails.Inc()
}

// pid returns the running ffmpeg's process id, 0 when none runs.
func (t *tap) pid() int { return int(t.curPID.Load()) }
