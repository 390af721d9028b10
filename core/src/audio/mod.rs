//! The audio engine: codecs, the mixer and its ports (devices, WAV players
//! and recorders, tone generators), bridges and conferences.
