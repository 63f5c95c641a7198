// Package media contains Beacon's HLS packaging, ffmpeg supervision, frame sampler and thumbnails.
//
// # Data path
//
// The RTMP ingest hands each accepted publish to [Server.OpenStream] (the
// ingest package declares the interface on its side; cmd wires the two, so
// neither package imports the other). For every live channel the server runs:
//
//   - a source passthrough: the publisher's H.264/AAC access units, with the
//     SPS and PPS put in front of every IDR, go into a gohlslib MPEG-TS muxer
//     (no transcoding). With [Config.LowLatency] a second gohlslib muxer serves
//     an LL-HLS (fMP4 parts) variant of the same source;
//   - an ABR ladder: one ffmpeg process per stream, fed an MPEG-TS of the same
//     access units through its stdin, writes every rendition with its hls
//     muxer (-var_stream_map), keyframes forced every segment duration so
//     they line up across renditions, timestamps kept (-copyts) so they line
//     up with the source. The argv comes from a pure function (ladderArgs,
//     golden files in testdata/ladder). If ffmpeg dies it is restarted with
//     backoff while the source keeps playing;
//   - a frame tap: a second, tiny ffmpeg process fed (as FLV) only one IDR
//     every [Config.SampleInterval], so it decodes one frame per sample
//     instead of every frame. It returns raw RGBA frames from which Go cuts
//     the model-sized samples (scale then centre-crop, 224×224 by default),
//     encoded as JPEG and published as [Frame]s with the capture time, and
//     every [Config.ThumbnailInterval] the JPEG thumbnails.
//
// Nothing on the ingest goroutine waits for ffmpeg or the bus: the ladder
// feed, the tap feed and the frame publisher are bounded queues that drop and
// count under overload (the ladder feed then skips to the next IDR).
//
// # HTTP
//
// [Server.ServeHTTP] serves
//
//	/hls/{channel}/index.m3u8            master playlist (source + renditions)
//	/hls/{channel}/source/{file}         passthrough (gohlslib, MPEG-TS)
//	/hls/{channel}/ll/{file}             LL-HLS passthrough (when enabled)
//	/hls/{channel}/{rendition}/{file}    ffmpeg renditions (720p, 480p, ...)
//	/thumbnails/{channel}-{w}x{h}.jpg    thumbnails at the allowed sizes
//
// Playlists are served with Cache-Control: no-cache, segments with a long
// max-age (their names are never reused), every response carries CORS
// headers, and paths are parsed by a strict parser (fuzzed) that never joins
// user input into a file path.
//
// # Lifecycle
//
// When a publisher disconnects the channel stays up for [Config.ReconnectGrace]:
// a reconnect with the same parameters resumes the same broadcast (same
// broadcast id, timestamps continued). After the grace period the ladder and
// tap are stopped, their files removed and an offline [StreamEvent] is
// published. Online events carry codec, resolution, fps and bitrate; health
// events every [Config.HealthInterval] carry the ingest bitrate and dropped
// frames.
package media
