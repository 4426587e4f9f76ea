/** `oneclass/jobs`: distributed batch scoring on BullMQ + Redis as a library (docs/distributed.md). */
export * from './jobs/index.js';
