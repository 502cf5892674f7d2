// Package audio is servebench's speech material: reading an audio file's
// format, duration and embedded transcript (Probe: WAV, FLAC, MP3), the
// embedded speech clips (English sentences spoken by espeak-ng, each
// carrying its text) and the workloads built from them (formats, joined
// recordings of a duration range), a manifest reader for one's own
// recordings, and scoring a transcript against its reference (word and
// character error rates, a Levenshtein distance).
//
// Everything here is pure and safe for concurrent use; the clips are
// embedded, so no file is needed at run time.
package audio
