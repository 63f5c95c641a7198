package safety

import "time"

// Smoother decides when a channel's frames flag a label: a label flags when
// at least K of the channel's last N frames scored at or above its threshold
// (so one noisy frame never flags a stream). It fires once when the
// condition becomes true and re-arms once it is false again, so a stream that
// stays over the threshold raises one flag, not one per frame. It is not
// safe for concurrent use.
type Smoother struct {
	k, n    int
	idle    time.Duration
	chans   map[string]*window
	updates int
}

type window struct {
	broadcast string
	lastSeq   int64
	seen      time.Time
	hits      map[string][]bool // label -> ring of the last n outcomes
	pos       map[string]int
	active    map[string]bool // label currently flagged
	prev      *window         // the state before the last observation, for Undo
}

func (w *window) clone() *window {
	c := &window{broadcast: w.broadcast, lastSeq: w.lastSeq, seen: w.seen,
		hits: make(map[string][]bool, len(w.hits)), pos: make(map[string]int, len(w.pos)), active: make(map[string]bool, len(w.active))}
	for k, v := range w.hits {
		c.hits[k] = append([]bool(nil), v...)
	}
	for k, v := range w.pos {
		c.pos[k] = v
	}
	for k, v := range w.active {
		c.active[k] = v
	}
	return c
}

// NewSmoother returns a k-of-n smoother that forgets channels idle for
// longer than idle.
func NewSmoother(k, n int, idle time.Duration) *Smoother {
	return &Smoother{k: k, n: n, idle: idle, chans: make(map[string]*window)}
}

// Observe records one frame of channel (broadcast, sequence) whose labels
// in over scored at or above their thresholds, among the labels in all. It
// returns the labels that flag now. A frame whose sequence is not newer than
// the last one seen in the same broadcast (a redelivery) changes nothing.
func (s *Smoother) Observe(now time.Time, channel, broadcast string, seq int64, all []string, over map[string]bool) []string {
	s.updates++
	if s.updates%1024 == 0 {
		for id, w := range s.chans {
			if now.Sub(w.seen) > s.idle {
				delete(s.chans, id)
			}
		}
	}
	w := s.chans[channel]
	if w == nil || w.broadcast != broadcast {
		w = &window{broadcast: broadcast, lastSeq: -1 << 63, hits: map[string][]bool{}, pos: map[string]int{}, active: map[string]bool{}}
		s.chans[channel] = w
	}
	w.seen = now
	if seq <= w.lastSeq {
		return nil
	}
	w.prev = nil
	w.prev = w.clone()
	w.lastSeq = seq
	var fire []string
	for _, l := range all {
		ring := w.hits[l]
		if ring == nil {
			ring = make([]bool, s.n)
			w.hits[l] = ring
		}
		ring[w.pos[l]] = over[l]
		w.pos[l] = (w.pos[l] + 1) % s.n
		count := 0
		for _, h := range ring {
			if h {
				count++
			}
		}
		switch {
		case count >= s.k && !w.active[l]:
			w.active[l] = true
			fire = append(fire, l)
		case count < s.k:
			w.active[l] = false
		}
	}
	return fire
}

// Undo reverts the last observation of channel, so that a frame whose flag
// could not be published counts again when it is delivered again.
func (s *Smoother) Undo(channel string) {
	if w := s.chans[channel]; w != nil && w.prev != nil {
		prev := w.prev
		prev.prev = nil
		s.chans[channel] = prev
	}
}
