'use strict'
// Registers the compression codecs kafkajs lacks natively (it only does gzip):
// snappy (kafkajs-snappy, pure JS), lz4 (kafkajs-lz4, native lz4 built by npm ci) and
// zstd through zstd-codec (Emscripten build, no native code). @kafkajs/zstd is not used:
// its native dependency (cppzst 2.0.6) does not compile against Node 20 headers.
const { CompressionTypes, CompressionCodecs } = require('kafkajs')
const SnappyCodec = require('kafkajs-snappy')
const LZ4Codec = require('kafkajs-lz4')
const { ZstdCodec } = require('zstd-codec')

let zstdReady = null
function zstd () {
  if (!zstdReady) {
    zstdReady = new Promise(resolve => ZstdCodec.run(z => resolve(z)))
  }
  return zstdReady
}

const ZstdKafkaCodec = () => ({
  async compress (encoder) {
    const z = await zstd()
    const simple = new z.Simple()
    return Buffer.from(simple.compress(encoder.buffer, 3))
  },
  async decompress (buffer) {
    const z = await zstd()
    // Streaming: frames written by streaming compressors (Java, librdkafka) may omit the
    // content size that Simple.decompress needs.
    const streaming = new z.Streaming()
    return Buffer.from(streaming.decompress(buffer))
  }
})

CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec
CompressionCodecs[CompressionTypes.LZ4] = new LZ4Codec().codec
CompressionCodecs[CompressionTypes.ZSTD] = ZstdKafkaCodec

module.exports = {
  byName: {
    none: CompressionTypes.None,
    gzip: CompressionTypes.GZIP,
    snappy: CompressionTypes.Snappy,
    lz4: CompressionTypes.LZ4,
    zstd: CompressionTypes.ZSTD
  }
}
