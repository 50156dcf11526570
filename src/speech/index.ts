// Public API of the speech layer: streaming segmentation, normalisation and heard-text mapping.
export { SpeechSegmenter, type SpeechSegment, type SegmenterOptions } from './segmenter.js';
export { normaliseForSpeech, CODE_BLOCK_NOTE } from './normalise.js';
export { heardDisplayLength } from './heard.js';
