// Baseline and progressive 8-bit JPEGs (gray, YCbCr, RGB) decoded with libjpeg-turbo, linked
// statically, in place of sharp for the images that allow it (src/encoder/jpeg.ts):
//   decodeJpeg(bytes, { maxPixels })      -> { data, width, height, channels } | null, on the JS thread
//   decodeJpegAsync(bytes, { maxPixels }) -> Promise of the same, on libuv's thread pool
//   jpegDecoderInfo()                     -> { library, version }
// null means "not this decoder's": a colour space other than gray / YCbCr / RGB (CMYK, YCCK),
// more than 8 bits, more than maxPixels, or any error or warning from libjpeg (a truncated or
// corrupt file). The caller then decodes with sharp, whose outcome (pixels or error message) is
// the reference, so this decoder never accepts a file that sharp refuses.
//
// The pixels are sharp's and Pillow's: all three run libjpeg-turbo's accurate integer IDCT
// (JDCT_ISLOW, exact in its SIMD versions) with fancy upsampling, the libraries' defaults;
// test/jpeg-decode.test.ts compares them on every CIFAR-10 JPEG and magnetic-tile image.
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "convert.h"
#include "exports.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  bool warned = false;
};

[[noreturn]] void onError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  std::longjmp(err->jump, 1);
}

// Level -1 is a warning (corrupt data, premature end): sharp fails on those (failOn 'warning'),
// so this decoder declines. Levels >= 0 are trace messages: ignored.
void onMessage(j_common_ptr cinfo, int level) {
  if (level < 0) {
    reinterpret_cast<ErrorManager*>(cinfo->err)->warned = true;
    cinfo->err->num_warnings++;
  }
}

// Messages are never shown: a declined file goes to sharp, whose message the user sees.
void noOutput(j_common_ptr) {}
void noFormat(j_common_ptr, char* buffer) { buffer[0] = '\0'; }
void resetErrors(j_common_ptr cinfo) {
  cinfo->err->num_warnings = 0;
  cinfo->err->msg_code = 0;
}

// The error manager set up here rather than by jpeg_std_error(): that function's file (jerror.c)
// prints to stderr, and Debian's static libjpeg reaches stderr with a relocation that a shared
// object cannot hold; without a reference to it, the linker leaves that file out.
void initErrors(ErrorManager& err) {
  std::memset(&err.pub, 0, sizeof err.pub);
  err.pub.error_exit = onError;
  err.pub.emit_message = onMessage;
  err.pub.output_message = noOutput;
  err.pub.format_message = noFormat;
  err.pub.reset_error_mgr = resetErrors;
}

struct JpegInfo {
  int width = 0, height = 0, channels = 0;
};

// Decompression in two steps (header, then pixels) so that the async call can allocate its
// result on the JS thread between them. Every libjpeg call is made inside a function that
// setjmp()s first and holds no object with a destructor across it.
class JpegReader {
 public:
  JpegReader() {
    initErrors(err_);
    cinfo_.err = &err_.pub;
    jpeg_create_decompress(&cinfo_);
  }
  ~JpegReader() { jpeg_destroy_decompress(&cinfo_); }
  JpegReader(const JpegReader&) = delete;
  JpegReader& operator=(const JpegReader&) = delete;

  // false: not decodable here (see the top of the file).
  bool header(const uint8_t* bytes, size_t size, double maxPixels, JpegInfo& info) {
    if (size < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return false;
    if (setjmp(err_.jump)) return false;
    jpeg_mem_src(&cinfo_, bytes, static_cast<unsigned long>(size));
    if (jpeg_read_header(&cinfo_, TRUE) != JPEG_HEADER_OK || err_.warned) return false;
    if (cinfo_.data_precision != 8) return false;
    switch (cinfo_.jpeg_color_space) {
      case JCS_GRAYSCALE:
        if (cinfo_.num_components != 1) return false;
        cinfo_.out_color_space = JCS_GRAYSCALE;
        info.channels = 1;
        break;
      case JCS_YCbCr:
      case JCS_RGB:
        if (cinfo_.num_components != 3) return false;
        cinfo_.out_color_space = JCS_RGB;
        info.channels = 3;
        break;
      default:
        return false;
    }
    // The libraries' defaults, stated: sharp (libvips) and Pillow leave them so.
    cinfo_.dct_method = JDCT_ISLOW;
    cinfo_.do_fancy_upsampling = TRUE;
    cinfo_.scale_num = cinfo_.scale_denom = 1;
    info.width = static_cast<int>(cinfo_.image_width);
    info.height = static_cast<int>(cinfo_.image_height);
    if (info.width <= 0 || info.height <= 0) return false;
    if (static_cast<double>(info.width) * info.height > maxPixels) return false;
    info_ = info;
    return true;
  }

  // After a true header(): writes height x width x channels bytes to out; false on any error or warning.
  bool pixels(uint8_t* out) {
    if (setjmp(err_.jump)) return false;
    jpeg_start_decompress(&cinfo_);
    if (static_cast<int>(cinfo_.output_width) != info_.width ||
        static_cast<int>(cinfo_.output_height) != info_.height || cinfo_.output_components != info_.channels) {
      jpeg_abort_decompress(&cinfo_);
      return false;
    }
    const size_t stride = static_cast<size_t>(info_.width) * static_cast<size_t>(info_.channels);
    while (cinfo_.output_scanline < cinfo_.output_height) {
      JSAMPROW row = out + static_cast<size_t>(cinfo_.output_scanline) * stride;
      if (jpeg_read_scanlines(&cinfo_, &row, 1) != 1) {
        jpeg_abort_decompress(&cinfo_);
        return false;
      }
    }
    jpeg_finish_decompress(&cinfo_);
    return !err_.warned;
  }

 private:
  jpeg_decompress_struct cinfo_{};
  ErrorManager err_{};
  JpegInfo info_;
};

const uint8_t* bytesArg(Napi::Env env, const Napi::Value& value, size_t& size) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throwCoded(env, "ERR_INVALID_ARGUMENT", "bytes must be a Uint8Array");
  auto array = value.As<Napi::Uint8Array>();
  size = array.ByteLength();
  return array.Data();
}

double maxPixelsArg(const Napi::CallbackInfo& info) {
  ObjectArg options(info, 1, "options");
  return static_cast<double>(options.integer("maxPixels", 1, kMaxIndex));
}

Napi::Object imageObject(Napi::Env env, const Napi::Value& data, const JpegInfo& info) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("data", data);
  result.Set("width", info.width);
  result.Set("height", info.height);
  result.Set("channels", info.channels);
  return result;
}

Napi::Value decodeJpeg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t size = 0;
  const uint8_t* bytes = bytesArg(env, info[0], size);
  const double maxPixels = maxPixelsArg(info);
  JpegReader reader;
  JpegInfo image;
  if (!reader.header(bytes, size, maxPixels, image)) return env.Null();
  const size_t count = static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * image.channels;
  Napi::Buffer<uint8_t> buffer = Napi::Buffer<uint8_t>::New(env, count);
  // `bytes` stays valid across this allocation: a typed array's backing store does not move.
  if (!reader.pixels(buffer.Data())) return env.Null();
  Napi::Uint8Array data = Napi::Uint8Array::New(env, count, buffer.ArrayBuffer(), buffer.ByteOffset());
  return imageObject(env, data, image);
}

class DecodeJpegWorker final : public PromiseWorker {
 public:
  explicit DecodeJpegWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    size_t size = 0;
    const uint8_t* bytes = bytesArg(env, info[0], size);
    // Copied: the caller may transfer or change its buffer while the call is queued.
    bytes_.assign(bytes, bytes + size);
    const double maxPixels = maxPixelsArg(info);
    ok_ = reader_.header(bytes_.data(), bytes_.size(), maxPixels, image_);
    if (ok_) out_.allocateUnfilled(env, static_cast<size_t>(image_.width) * image_.height * image_.channels);
  }

 private:
  void Run() override {
    if (ok_) ok_ = reader_.pixels(out_.data);
  }
  Napi::Value Result(Napi::Env env) override { return ok_ ? imageObject(env, out_.value(), image_) : env.Null(); }

  std::vector<uint8_t> bytes_;
  JpegReader reader_;
  JpegInfo image_;
  bool ok_ = false;
  ResultArray<Napi::Uint8Array> out_;
};

Napi::Value jpegDecoderInfo(const Napi::CallbackInfo& info) {
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("library", "libjpeg-turbo");
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
  const int v = LIBJPEG_TURBO_VERSION_NUMBER;
  result.Set("version",
             std::to_string(v / 1000000) + "." + std::to_string(v / 1000 % 1000) + "." + std::to_string(v % 1000));
#else
  result.Set("version", "libjpeg API " + std::to_string(JPEG_LIB_VERSION));
#endif
  return result;
}

const ExportRegistration kDecodeJpeg("decodeJpeg", functionExport<decodeJpeg>);
const ExportRegistration kDecodeJpegAsync("decodeJpegAsync", functionExport<startWorker<DecodeJpegWorker>>);
const ExportRegistration kJpegDecoderInfo("jpegDecoderInfo", functionExport<jpegDecoderInfo>);

}  // namespace
}  // namespace oneclass::addon
