/** Stage 1 of the two-stage framework: self-supervised image encoders exported from python-export/. */
export { Encoder, manifestPathFor, type DenseInfo, type ForwardOptions, type ForwardResult } from './encoder.js';
export { embedFolder, listImageFiles, IMAGE_EXTENSIONS, type FolderOptions } from './folder.js';
export {
  type EncoderManifest,
  type ManifestDecode,
  type DenseBlock,
  type DenseOutput,
  type DenseOutputKind,
  colourPolicyOf,
  readManifest,
  validateManifest,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
} from './manifest.js';
export {
  type EncoderLoadOptions,
  type EncoderFromBytesOptions,
  type EmbedOptions,
  DEFAULT_BATCH_SIZE,
} from './options.js';
export { resizeU8, triangleTaps, RESIZE_METHOD } from './resize.js';
export { gridPatches, cropU8, type PatchGrid } from './patches.js';
export { buildNormalizeTable, writeNormalizedCHW } from './normalize.js';
export { decodeImage, type DecodeOptions } from './decode.js';
export { jpegDecoder, setJpegDecoder } from './jpeg.js';
export { type AlphaMode, type ColourPolicy, type ColourTarget, DEFAULT_COLOUR_POLICY, DECODE_RULES } from './colour.js';
export { type RawImage, type ImageInput, type EncoderOutput, ENCODER_OUTPUTS } from './types.js';
export { checkViews, IMAGE_VIEWS, type ImageViews, viewCount } from './views.js';
