// Package safety contains Beacon's trust & safety models: the chat
// classifier (hate / offensive / neither and a combined "unsafe" score) and
// the frame classifier (NSFW), with the exact preprocessing their notebooks
// trained or converted them with.
//
// # Chat
//
// A message becomes hashed word, word-bigram and character n-gram features
// (Features, version FeaturesVersion; the reference is
// notebooks/chatfeat.py). The model takes them as a sparse pair of tensors,
// indices int64[N,K] and values float32[N,K] (padding: index 0, value 0),
// and returns probabilities float32[N,3] and unsafe float32[N].
//
// # Frames
//
// A JPEG is decoded, centre-cropped to a square, resized to 224x224
// (bilinear, align-corners, as nsfwjs does) and scaled to [0,1]
// (PreprocessImage). The model takes input float32[N,224,224,3] (NHWC, RGB)
// and returns probabilities float32[N,5] over Drawing, Hentai, Neutral, Porn
// and Sexy.
package safety
