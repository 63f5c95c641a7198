package media

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// feedItem is one access unit on its way to an ffmpeg stdin.
type feedItem struct {
	video    bool
	pts, dts int64 // 90 kHz
	au       [][]byte
	aac      []byte
}

// ladderFeedCap bounds the access units queued for the ladder's ffmpeg
// (about 10 s of 30 fps video with audio: the ~2 s burst that follows RTMP
// track detection arrives while ffmpeg is still starting its encoders).
const ladderFeedCap = 1024

// ladder supervises the ffmpeg process of one stream's ABR ladder.
type ladder struct {
	log      *slog.Logger
	ffmpeg   string
	input    ladderInput
	plan     []plannedRendition
	audio    *mpeg4audio.AudioSpecificConfig
	minB     time.Duration
	maxB     time.Duration
	in       chan feedItem
	metrics  *metrics
	restarts atomic.Int64
	dropped  atomic.Int64
	curPID   atomic.Int64
	runs     atomic.Int64
	// needIDR is set when the queue overflowed: video is then dropped until
	// the next IDR so that ffmpeg never sees a broken GOP. It is only used by
	// the channel's writer, under the channel's lock.
	needIDR bool
}

func newLadder(log *slog.Logger, cfg Config, in ladderInput, audio *mpeg4audio.AudioSpecificConfig, m *metrics) *ladder {
	_, plan := ladderArgs(in)
	if len(plan) == 0 {
		return nil
	}
	return &ladder{
		log:     log.With("component", "ladder"),
		ffmpeg:  cfg.FFmpegPath,
		input:   in,
		plan:    plan,
		audio:   audio,
		minB:    cfg.RestartBackoff,
		maxB:    cfg.RestartBackoffMax,
		in:      make(chan feedItem, ladderFeedCap),
		metrics: m,
	}
}

// offer queues an access unit without blocking; it reports false (and
// counts a drop) when the queue is full.
func (l *ladder) offer(it feedItem) bool {
	if it.video {
		if l.needIDR {
			if !h264.IsRandomAccess(it.au) {
				l.dropped.Add(1)
				l.metrics.dropped.WithLabelValues("ladder").Inc()
				return false
			}
			l.needIDR = false
		}
	}
	select {
	case l.in <- it:
		return true
	default:
		if it.video {
			l.needIDR = true
		}
		l.dropped.Add(1)
		l.metrics.dropped.WithLabelValues("ladder").Inc()
		return false
	}
}

// run supervises ffmpeg until ctx ends.
func (l *ladder) run(ctx context.Context) {
	supervise(ctx, l.log, l.minB, l.maxB, l.runOnce, func(error) {
		l.restarts.Add(1)
		l.metrics.restarts.WithLabelValues("ladder").Inc()
	})
}

func (l *ladder) runOnce(ctx context.Context) error {
	in := l.input
	in.RunID = strconv.FormatInt(time.Now().UnixMilli(), 36)
	args, _ := ladderArgs(in)
	p, err := startFFmpeg(ctx, l.ffmpeg, args, false, 0)
	if err != nil {
		return err
	}
	l.runs.Add(1)
	l.curPID.Store(int64(p.pid()))
	defer l.curPID.Store(0)
	l.log.Debug("ladder ffmpeg started", "pid", p.pid(), "run_id", in.RunID)

	vt := &mpegts.Track{Codec: &tscodecs.H264{}}
	tracks := []*mpegts.Track{vt}
	var at *mpegts.Track
	if l.audio != nil {
		at = &mpegts.Track{Codec: &tscodecs.MPEG4Audio{Config: *l.audio}}
		tracks = append(tracks, at)
	}
	bw := bufio.NewWriterSize(p.stdin, 64*1024)
	w := &mpegts.Writer{W: bw, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		p.stop(0)
		return err
	}
	waitIDR := true
	for {
		select {
		case <-ctx.Done():
			p.stop(0)
			return ctx.Err()
		case <-p.exited:
			return p.exitError()
		case it := <-l.in:
			if it.video {
				if waitIDR && !h264.IsRandomAccess(it.au) {
					continue
				}
				waitIDR = false
				err = w.WriteH264(vt, it.pts, it.dts, it.au)
			} else if at != nil && !waitIDR {
				err = w.WriteMPEG4Audio(at, it.pts, [][]byte{it.aac})
			}
			if err == nil && len(l.in) == 0 {
				err = bw.Flush()
			}
			if err != nil {
				p.stop(2 * time.Second)
				return fmt.Errorf("media: feeding ffmpeg: %w (%v)", err, p.exitError())
			}
		}
	}
}

// pid returns the running ffmpeg's process id, 0 when none runs.
func (l *ladder) pid() int { return int(l.curPID.Load()) }
