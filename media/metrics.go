package media

import "github.com/prometheus/client_golang/prometheus"

// metrics are the server's Prometheus collectors.
type metrics struct {
	live       prometheus.Gauge
	dropped    *prometheus.CounterVec // by stage: ladder, sampler, publish
	restarts   *prometheus.CounterVec // by process: ladder, tap
	frames     prometheus.Counter
	thumbnails prometheus.Counter
	ingestByte prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		live: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "beacon_media_live_channels", Help: "Channels currently live (including reconnect grace).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_media_dropped_total",
			Help: "Access units or frames dropped under overload, by stage (ladder, sampler, publish).",
		}, []string{"stage"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "beacon_media_ffmpeg_restarts_total", Help: "ffmpeg restarts, by process (ladder, tap).",
		}, []string{"process"}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_media_frames_sampled_total", Help: "Frames sampled and handed to the publisher.",
		}),
		thumbnails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_media_thumbnails_total", Help: "Thumbnail refreshes.",
		}),
		ingestByte: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "beacon_media_ingest_bytes_total", Help: "Bytes of media received from publishers.",
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.live, m.dropped, m.restarts, m.frames, m.thumbnails, m.ingestByte} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
