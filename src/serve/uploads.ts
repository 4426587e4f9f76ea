/**
 * The images of one request: the raw body (one image; any image/* type or
 * application/octet-stream) or multipart/form-data (one image per file part). Each image's
 * header is read (sharp metadata: no pixels decoded) before it joins a batch, so that a
 * non-image or an image over the pixel limit is refused at once with a 4xx naming it, and never
 * takes a batch's time or memory.
 */
import type { FastifyRequest } from 'fastify';
import sharp from 'sharp';

import { jpegHeader, nativeJpegEnabled } from '../encoder/jpeg.js';
import { rememberHeader } from '../encoder/pixel-budget.js';
import { RequestError } from './http-errors.js';

export interface Upload {
  /** The multipart file name (or field name); 'body' for a raw body. */
  name: string;
  bytes: Buffer;
}

export interface UploadLimits {
  /** Most pixels (width x height) of one image. */
  maxPixels: number;
  /** Most images in one multipart request. */
  maxImages: number;
}

export async function readUploads(request: FastifyRequest, limits: UploadLimits): Promise<Upload[]> {
  const uploads: Upload[] = [];
  if (request.isMultipart()) {
    try {
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        uploads.push({ name: part.filename || part.fieldname, bytes: await part.toBuffer() });
      }
    } catch (cause) {
      // Limits (413) keep their status; a body busboy cannot parse is the client's error.
      if (typeof (cause as { statusCode?: number }).statusCode === 'number') throw cause;
      throw new RequestError(400, 'ERR_INVALID_ARGUMENT', `Malformed multipart body: ${(cause as Error).message}`);
    }
    if (uploads.length === 0) {
      throw new RequestError(
        400,
        'ERR_INVALID_ARGUMENT',
        'The multipart body holds no file part: send each image as a file',
      );
    }
  } else {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0) {
      throw new RequestError(
        400,
        'ERR_INVALID_ARGUMENT',
        'The body is empty: send the image bytes (Content-Type image/* or application/octet-stream) or multipart/form-data',
      );
    }
    uploads.push({ name: 'body', bytes: body });
  }
  if (uploads.length > limits.maxImages) {
    throw new RequestError(
      413,
      'ERR_INVALID_ARGUMENT',
      `${uploads.length} images in one request, at most ${limits.maxImages}`,
    );
  }
  await Promise.all(uploads.map((u) => checkHeader(u, limits.maxPixels)));
  return uploads;
}

async function checkHeader(upload: Upload, maxPixels: number): Promise<void> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    // Header only; the pixel limit is ours, checked below with a message that names the image.
    const header =
      (nativeJpegEnabled() ? jpegHeader(upload.bytes) : null) ??
      (await sharp(upload.bytes, { limitInputPixels: false }).metadata());
    ({ width, height } = header);
    // The batch's pixel budget and the decode take it from here: one header read per upload.
    rememberHeader(upload.bytes, header);
  } catch (cause) {
    throw new RequestError(
      400,
      'ERR_IMAGE_DECODE',
      `Cannot decode ${upload.name} (${upload.bytes.length} bytes): not an image sharp can read (${String((cause as Error).message).trim()})`,
      upload.name,
    );
  }
  if (!width || !height) {
    throw new RequestError(
      400,
      'ERR_IMAGE_DECODE',
      `Cannot decode ${upload.name}: no image size in its header`,
      upload.name,
    );
  }
  if (width * height > maxPixels) {
    throw new RequestError(
      413,
      'ERR_INVALID_ARGUMENT',
      `${upload.name} is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels} (--max-pixels)`,
      upload.name,
    );
  }
}
