// Package ingest contains Beacon's RTMP ingest server.
//
// # Publishing
//
// Streamers publish to rtmp://host/live/{stream_key} (OBS: server
// rtmp://host/live, stream key {stream_key}). For each connection the server
//
//  1. performs the RTMP handshake and reads connect/createStream/publish
//     within [Config.HandshakeTimeout];
//  2. checks the stream key through the keyVerifier (the store, wired by
//     cmd). A missing, malformed, wrong or revoked key is refused with the
//     RTMP status NetStream.Publish.Unauthorized, logged without the key and
//     counted (beacon_ingest_publish_rejected_total{reason="unauthorized"});
//  3. refuses a second publisher of a channel that is already live
//     (NetStream.Publish.BadName, reason="duplicate");
//  4. detects the tracks (gortmplib buffers about 2 s of media for this) and
//     accepts exactly one H.264 video track with at most one AAC audio track;
//     anything else — another video or audio codec, no video — is refused
//     with NetStream.Publish.Rejected and a description that says what is
//     accepted (reason="codec");
//  5. hands the stream to the streamSink (media, wired by cmd) and forwards
//     every access unit until the publisher leaves or stays silent for
//     [Config.IdleTimeout].
//
// Play requests are refused: viewers watch HLS.
//
// # Isolation
//
// Every connection has its own goroutine and its own deadlines, the number
// of connections is capped by [Config.MaxConnections], and the sink's
// writer never blocks (media drops under overload), so a slow or
// garbage-sending client cannot hold up another stream.
//
// # Wiring
//
// ingest and media never import each other. StreamParams and StreamWriter
// are aliases of unnamed types that media declares identically, so
// *media.Server satisfies streamSink as it is:
//
//	srv, err := ingest.New(ingest.Config{Keys: store, Sink: mediaServer})
package ingest
