// eop checksum helpers: the RFC 1071 Internet checksum summed in C++ for the live hot path.
//
// Why native: receive-side TCP coalescing (bridge/tcp-coalesce.ts) must verify every segment's TCP
// checksum before it may merge it (issue 8), which means summing every byte the fabric delivers to
// a TAP; in JS that loop was 8.5 % of a TCP profile. Here it is a straight loop over 64-bit loads.
//
// onesSum(buf, start, end, initial) has exactly the semantics of onesSum in src/wire/checksum.ts
// (the reference, and what the tests compare against): the folded 16-bit ones-complement sum of the
// big-endian 16-bit words of buf[start, end) plus `initial`, an odd tail byte padded with zero. The
// result is 0 only when every byte and `initial` are zero; otherwise 1..0xffff.
//
// How: the bytes are summed as native little-endian 64-bit loads, each split into two 32-bit
// halves added to a 64-bit accumulator (no carry is ever lost: 2^31 loads before it could wrap).
// A ones-complement sum does not depend on byte order up to one final byte swap (RFC 1071 §2(B)),
// and folding a wider accumulation gives the same 16 bits (§2(C)). Loads go through memcpy, so any
// alignment of `start` is fine.
//
// Kept in its own file and registered by InitChecksum (called from tap.cc's module init) so other
// native additions do not touch it. Bad arguments throw TypeError (code ERR_INVALID_ARG_TYPE) or RangeError
// (ERR_OUT_OF_RANGE): programming errors of the caller; frames never reach here unchecked.

#include <napi.h>

#include <cstdint>
#include <cstring>

namespace eop_checksum {

namespace {

constexpr double kMaxInitial = 9007199254740991.0;  // 2^53 - 1: what a JS number holds exactly

inline uint64_t Fold16(uint64_t s) {
  while (s > 0xffff) s = (s & 0xffff) + (s >> 16);
  return s;
}

inline bool IsLittleEndian() {
  const uint16_t one = 1;
  uint8_t b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

// Folded sum of the big-endian 16-bit words of p[0, n), n even; 0 only if every byte is 0.
uint64_t SumEvenBigEndian(const uint8_t* p, size_t n) {
  uint64_t acc = 0;
  size_t i = 0;
  if (IsLittleEndian()) {
    for (; i + 32 <= n; i += 32) {
      uint64_t w0, w1, w2, w3;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + i + 8, 8);
      std::memcpy(&w2, p + i + 16, 8);
      std::memcpy(&w3, p + i + 24, 8);
      acc += (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32) + (w2 & 0xffffffffu) + (w2 >> 32) +
             (w3 & 0xffffffffu) + (w3 >> 32);
    }
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      acc += (w & 0xffffffffu) + (w >> 32);
    }
    uint64_t le = Fold16(acc);
    acc = ((le & 0xff) << 8) | (le >> 8);  // back to big-endian word order
  }
  for (; i < n; i += 2) acc += (static_cast<uint64_t>(p[i]) << 8) | p[i + 1];
  return Fold16(acc);
}

// Raw Node-API rather than the node-addon-api wrappers: this is called once per delivered TCP
// segment, and each wrapper check is one more Node-API call (measured: the wrapped version cost
// about 200 ns per call before summing a byte). Here: one call for the arguments, one for the
// array (which also rejects anything that is not a typed array), one per number.
napi_value Fail(napi_env env, bool range, const char* msg) {
  if (range) napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  else napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return nullptr;
}

napi_value OnesSum(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 3) {
    return Fail(env, false, "onesSum(buf: Uint8Array, start: number, end: number, initial?: number)");
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, argv[0], &type, &len, &data, nullptr, nullptr) != napi_ok || type != napi_uint8_array) {
    return Fail(env, false, "onesSum: buf must be a Uint8Array");
  }
  double start = 0, end = 0, initial = 0;
  if (napi_get_value_double(env, argv[1], &start) != napi_ok || napi_get_value_double(env, argv[2], &end) != napi_ok) {
    return Fail(env, false, "onesSum: start and end must be numbers");
  }
  // NaN fails every comparison, so it is refused here too; so are fractions.
  if (!(start >= 0 && start <= end && end <= static_cast<double>(len)) || start != static_cast<double>(static_cast<size_t>(start)) ||
      end != static_cast<double>(static_cast<size_t>(end))) {
    return Fail(env, true, "onesSum: need integers 0 <= start <= end <= buf.length");
  }
  if (argc > 3) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined) {
      if (napi_get_value_double(env, argv[3], &initial) != napi_ok) return Fail(env, false, "onesSum: initial must be a number");
      if (!(initial >= 0 && initial <= kMaxInitial) || initial != static_cast<double>(static_cast<uint64_t>(initial))) {
        return Fail(env, true, "onesSum: initial must be an integer from 0 to 2^53 - 1");
      }
    }
  }
  const uint8_t* p = static_cast<const uint8_t*>(data) + static_cast<size_t>(start);
  const size_t n = static_cast<size_t>(end) - static_cast<size_t>(start);
  const size_t even = n & ~static_cast<size_t>(1);
  uint64_t sum = SumEvenBigEndian(p, even);
  if (even < n) sum += static_cast<uint64_t>(p[even]) << 8;
  sum = Fold16(sum + Fold16(static_cast<uint64_t>(initial)));
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(sum), &out);
  return out;
}

}  // namespace

void InitChecksum(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  NAPI_THROW_IF_FAILED_VOID(env, napi_create_function(env, "onesSum", NAPI_AUTO_LENGTH, OnesSum, nullptr, &fn));
  exports.Set("onesSum", Napi::Value(env, fn));
}

}  // namespace eop_checksum
