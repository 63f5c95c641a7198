package mediabench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
)

// The load generator runs in its own process so that the server's CPU time
// can be read alone from /proc. It speaks a line protocol on stdin/stdout:
//
//	publish <id> <flv-path> <rtmp-url>   →  ok <id> | err <id> <message>
//	stop <id>                            →  stopped <id>
//	                                        died <id> <message> (a publisher failed later)
//
// and stops every publisher when stdin closes.

// RunLoadGen is the load generator's main loop (see the package doc): it
// reads commands from in and answers on out until in is closed or ctx
// ends, then stops every publisher. Each publisher is one goroutine
// replaying the FLV file's tags, read once into memory and shared, paced by
// their timestamps, without re-encoding (gortmplib's client).
func RunLoadGen(ctx context.Context, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		outMu sync.Mutex
		wg    sync.WaitGroup
		files = map[string]*flvFile{}
		pubs  = map[string]context.CancelFunc{}
	)
	reply := func(format string, a ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format+"\n", a...)
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "publish":
			id, path, raw := f[1], f[2], f[3]
			fl := files[path]
			if fl == nil {
				b, err := os.ReadFile(path)
				if err == nil {
					fl, err = parseFLV(b)
				}
				if err != nil {
					reply("err %s %s", id, oneLine(err))
					continue
				}
				files[path] = fl
			}
			u, err := url.Parse(raw)
			if err != nil {
				reply("err %s %s", id, oneLine(err))
				continue
			}
			pctx, pcancel := context.WithCancel(ctx)
			if old := pubs[id]; old != nil {
				old()
			}
			pubs[id] = pcancel
			wg.Go(func() {
				err := replay(pctx, u, fl, func() { reply("ok %s", id) })
				if err != nil && pctx.Err() == nil {
					reply("died %s %s", id, oneLine(err))
				}
			})
		case len(f) == 2 && f[0] == "stop":
			if c := pubs[f[1]]; c != nil {
				c()
				delete(pubs, f[1])
			}
			reply("stopped %s", f[1])
		default:
			reply("err - unknown command %q", sc.Text())
		}
	}
	return sc.Err()
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// replay publishes fl to u in a loop until ctx ends. accepted is called
// once the server has accepted the publish and the tracks are announced.
func replay(ctx context.Context, u *url.URL, fl *flvFile, accepted func()) error {
	// gortmplib takes the stream key from the fragment:
	// rtmp://host/live/KEY → tcUrl rtmp://host/live, key KEY.
	cu := *u
	if i := strings.LastIndexByte(cu.Path, '/'); i > 0 && cu.Fragment == "" {
		cu.Path, cu.Fragment = cu.Path[:i], cu.Path[i+1:]
	}
	ictx, icancel := context.WithTimeout(ctx, 15*time.Second)
	defer icancel()
	c := &gortmplib.Client{URL: &cu, Publish: true}
	if err := c.Initialize(ictx); err != nil {
		return fmt.Errorf("mediabench: publish: %w", err)
	}
	stop := context.AfterFunc(ctx, c.Close)
	defer stop()
	defer c.Close()

	tracks := []*gortmplib.Track{{Codec: &codecs.H264{SPS: fl.sps, PPS: fl.pps}}}
	if fl.audio != nil {
		tracks = append(tracks, &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: fl.audio}})
	}
	_ = c.NetConn().SetWriteDeadline(time.Now().Add(10 * time.Second))
	w := &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("mediabench: announcing tracks: %w", err)
	}
	accepted()

	rate := message.AudioRate44100
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	deadlineAt := time.Time{}
	for loop := time.Duration(0); ; loop += fl.length {
		for _, t := range fl.tags {
			dts := loop + t.dts
			// Tags due within 5 ms go out together: fewer wake-ups.
			if d := time.Until(start.Add(dts)); d > 5*time.Millisecond {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-timer.C:
				}
			}
			if now := time.Now(); now.After(deadlineAt) {
				deadlineAt = now.Add(5 * time.Second)
				_ = c.NetConn().SetWriteDeadline(now.Add(10 * time.Second))
			}
			var msg message.Message
			if t.video {
				msg = &message.Video{
					ChunkStreamID: message.VideoChunkStreamID, MessageStreamID: 0x1000000,
					Codec: message.CodecH264, IsKeyFrame: t.key, Type: message.VideoTypeAU,
					AU: t.data, DTS: dts, PTSDelta: t.cts,
				}
			} else {
				msg = &message.Audio{
					ChunkStreamID: message.AudioChunkStreamID, MessageStreamID: 0x1000000,
					Codec: message.CodecMPEG4Audio, Rate: rate, Depth: message.AudioDepth16,
					IsStereo: true, AACType: message.AudioAACTypeAU, AU: t.data, DTS: dts,
				}
			}
			if err := c.Write(msg); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("mediabench: writing: %w", err)
			}
		}
	}
}

// loadGen is the benchmark's handle on the load generator process.
type loadGen struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the reader goroutine has seen EOF

	mu      sync.Mutex
	waiting map[string]chan error
	died    map[string]string
}

// startLoadGen starts the load generator process cmd (which must run
// RunLoadGen on its stdin and stdout).
func startLoadGen(cmd *exec.Cmd) (*loadGen, error) {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("mediabench: load generator: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("mediabench: load generator: %w", err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mediabench: starting the load generator: %w", err)
	}
	g := &loadGen{cmd: cmd, stdin: stdin, done: make(chan struct{}),
		waiting: map[string]chan error{}, died: map[string]string{}}
	go g.read(stdout) // owned: ends at EOF, which close waits for
	return g, nil
}

func (g *loadGen) read(r io.Reader) {
	defer close(g.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		kind, rest, _ := strings.Cut(sc.Text(), " ")
		id, msg, _ := strings.Cut(rest, " ")
		g.mu.Lock()
		switch kind {
		case "ok", "err", "stopped":
			if ch := g.waiting[id]; ch != nil {
				delete(g.waiting, id)
				if kind == "err" {
					ch <- errors.New(msg)
				} else {
					ch <- nil
				}
			}
		case "died":
			g.died[id] = msg
		}
		g.mu.Unlock()
	}
	g.mu.Lock()
	for id, ch := range g.waiting {
		ch <- errors.New("mediabench: the load generator exited")
		delete(g.waiting, id)
	}
	g.mu.Unlock()
}

func (g *loadGen) pid() int { return g.cmd.Process.Pid }

// send writes one command and returns a channel for its answer.
func (g *loadGen) send(id, line string) (chan error, error) {
	ch := make(chan error, 1)
	g.mu.Lock()
	g.waiting[id] = ch
	g.mu.Unlock()
	if _, err := io.WriteString(g.stdin, line+"\n"); err != nil {
		return nil, fmt.Errorf("mediabench: load generator: %w", err)
	}
	return ch, nil
}

func wait(ctx context.Context, ch chan error, timeout time.Duration) error {
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(timeout):
		return errors.New("mediabench: no answer from the load generator")
	}
}

// publish starts publishers for ids (path and url per id) and waits until
// every one is accepted.
func (g *loadGen) publish(ctx context.Context, path string, ids, urls []string) error {
	chs := make([]chan error, len(ids))
	for i, id := range ids {
		ch, err := g.send(id, "publish "+id+" "+path+" "+urls[i])
		if err != nil {
			return err
		}
		chs[i] = ch
	}
	var errs []error
	for i, ch := range chs {
		if err := wait(ctx, ch, 30*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("publisher %s: %w", ids[i], err))
		}
	}
	return errors.Join(errs...)
}

func (g *loadGen) stop(ctx context.Context, id string) error {
	ch, err := g.send(id, "stop "+id)
	if err != nil {
		return err
	}
	return wait(ctx, ch, 10*time.Second)
}

// failures returns the publishers that died, with their errors.
func (g *loadGen) failures() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.died))
	for k, v := range g.died {
		out[k] = v
	}
	return out
}

// close stops every publisher and waits for the process.
func (g *loadGen) close() error {
	_ = g.stdin.Close()
	<-g.done
	return g.cmd.Wait()
}
