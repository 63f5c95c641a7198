// Package mediabench measures Beacon's streaming core as a whole system (RTMP ingest → HLS) on this machine.
//
// [Run] starts, in the calling process, a state store in a temporary
// folder (SQLite from beaconctl) with real stream keys, the RTMP ingest and the HLS media server on 127.0.0.1 free ports,
// wired exactly as cmd wires them (keys verified by auth, channel ids in
// decimal), and measures:
//
//  1. publish → first playable segment: from the start of an ffmpeg
//     publisher (-re -c copy of the source) until the master playlist's
//     first variant (the source) lists a segment that ffprobe reads as the
//     source's H.264 video. Production settings (ladder and sampler on).
//  2. ingest → playlist latency of the passthrough: a tap between ingest and
//     media records the wall-clock arrival of every video access unit of
//     one channel; the source playlist is polled every 20 ms; each segment
//     is matched to its frames by PTS (first IDR + sum of the EXTINF before
//     it) and the latency of its first and last frames is the listing time
//     minus their arrival. The target is ≤ one segment duration + 1 s.
//  3. concurrent passthrough streams (ladder off, sampler on), ramped in
//     steps: CPU per stream of the server process and of its sampler ffmpeg
//     processes, read from /proc/<pid>/stat, RSS per stream, and whether
//     every stream kept producing segments.
//  4. one transcoded ladder (x264, default renditions): the cores used by
//     its ffmpeg process and its real-time factor (media time listed per
//     wall time; 1.0 keeps up with the live input).
//  5. memory per stream (RSS delta / streams, server and samplers).
//
// # Load generator
//
// Publishers replay one pre-encoded FLV file (encoded once by ffmpeg and
// cached in [Config.CacheDir]) without re-encoding. The load generator is a
// separate process so that the server's CPU can be read alone: it runs
// [RunLoadGen], one goroutine per stream writing the file's tags, read once
// into memory, with gortmplib's client, paced by their timestamps (far
// cheaper than one `ffmpeg -re -c copy` process per stream). Its own CPU is
// reported too. [Config.LoadGen] says how to start it: beaconctl
// re-executes itself, tests re-execute the test binary.
//
// # Output
//
// [Result.WriteTable] prints the figures for people with the methods;
// [Result.WriteBenchLines] prints them in the Go benchmark format
// (BenchmarkMedia/<name> 1 <value> <unit>) for `make bench`.
package mediabench
