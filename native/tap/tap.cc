// eop_tap: non-blocking, batched, event-loop-driven TAP I/O for Node.js (Node-API + libuv).
//
// One TAP = one file descriptor on /dev/net/tun opened O_NONBLOCK, watched by a uv_poll_t on the
// main event loop (no thread pool, no blocking reads: an idle TAP costs nothing and, once unref()'d
// or closed, never keeps the process alive).
//
// Reads: on each readable wake-up the fd is read until EAGAIN, bounded per wake-up (maxFrames
// frames, maxBytes bytes), into ONE reused buffer that JS also holds. Frames sit back to back in
// it; their lengths go to a reused Uint32Array. The JS callback is then called once per wake-up as
// cb(count, bytes): no per-frame Node-API call, no allocation, no copy. The buffer's contents are
// only valid until the callback returns (the next wake-up overwrites them).
//
// Writes: write() tries write(2) at once; on EAGAIN the frame is copied into a bounded FIFO (queue
// limits below; beyond them the frame is dropped and counted) and UV_WRITABLE is added to the poll
// to drain it. Once a queue exists, later frames go behind it so order is kept. write(frame, head)
// sends `head` (a virtio_net_hdr) and the frame as ONE frame with writev(2): the TAP driver reads
// an iovec array as a single packet, so no JS staging copy of header + frame is needed.
//
// Sparse frames: a wake-up that comes more than kLoneGapMs after the previous read reads ONE frame
// and returns, without the read(2) that would only say EAGAIN (one syscall per frame saved, several
// µs on a VM): the poll is level-triggered, so a frame queued behind it wakes the loop again at
// once, and busy traffic (wake-ups less than kLoneGapMs apart) is read in batches as before.
//
// readNow(maxFrames): reads synchronously, from JS, what the kernel already queued (EAGAIN: 0),
// into the same buffer as a wake-up, without a turn of the event loop. After a frame was written
// into a TAP, the namespace's answer (an ICMP echo reply, an ARP reply) is usually queued on it
// before writev(2) returns (the kernel processes it in the writer's softirq): the live rack reads
// it at once instead of waiting for the next epoll_wait. Never while this TAP's own callback runs.
//
// Pausing: pause()/resume() only stop and restart the poll; the read callback, the async context
// and the shared buffers stay as they are (readStart allocates; a back-pressure pause that happens
// thousands of times a second must not).
//
// Errors from read/write/poll never crash: they are counted and passed to the JS error callback as
// an Error with errno, code ('EBADFD', ...), syscall, iface and fatal. A fatal error (the fd lost
// its interface: EBADFD/EBADF/ENODEV/ENXIO, e.g. after `ip link del`) stops the poll; the JS side
// still calls close(). Non-fatal ones (EIO while the link is down, ...) are reported once per
// change of errno, until the next success.

#include <napi.h>
#include <uv.h>

namespace eop_checksum {
void InitChecksum(Napi::Env env, Napi::Object exports);  // native/checksum/checksum.cc
}

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#ifdef __linux__
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>
// TUNSETOFFLOAD flags of Linux 6.2 (older headers lack them).
static constexpr unsigned int kTunFUso4 = 0x20;
static constexpr unsigned int kTunFUso6 = 0x40;
#endif

namespace {

// Largest frame one read() may return: a 64 KiB GSO super-frame (IP total length <= 65535) plus
// Ethernet/VLAN header plus a 12-byte virtio_net_hdr, with slack. A read gets this much room.
constexpr size_t kMaxFrame = 65536 + 256;
constexpr uint32_t kDefaultBatchFrames = 64;
constexpr size_t kDefaultBatchBytes = 4u << 20;  // 4 MiB
constexpr uint32_t kMaxBatchFrames = 4096;
constexpr size_t kMaxBatchBytes = 64u << 20;
constexpr size_t kDefaultQueueFrames = 1024;
constexpr size_t kDefaultQueueBytes = 16u << 20;  // 16 MiB
// Wake-ups at least this far apart (loop time, ms) read one frame only (see "Sparse frames").
constexpr uint64_t kLoneGapMs = 2;

const char* ErrnoName(int err) {
  switch (err) {
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
#ifdef EBADFD
    case EBADFD: return "EBADFD";
#endif
    case EIO: return "EIO";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EMSGSIZE: return "EMSGSIZE";
    case EPIPE: return "EPIPE";
    case ENOSYS: return "ENOSYS";
    case ENOTTY: return "ENOTTY";
    default: break;
  }
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* n = strerrorname_np(err)) return n;
#endif
  return "EUNKNOWN";
}

bool IsFatal(int err) {
  switch (err) {
    case EBADF:
#ifdef EBADFD
    case EBADFD:
#endif
    case ENODEV:
    case ENXIO:
      return true;
    default:
      return false;
  }
}

Napi::Error MakeErrnoError(Napi::Env env, const std::string& message, int err, const char* syscall,
                           const std::string& iface, bool fatal) {
  Napi::Error e = Napi::Error::New(env, message);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, err));
  o.Set("code", Napi::String::New(env, ErrnoName(err)));
  o.Set("syscall", Napi::String::New(env, syscall));
  o.Set("iface", Napi::String::New(env, iface));
  o.Set("fatal", Napi::Boolean::New(env, fatal));
  return e;
}

class Tap : public Napi::ObjectWrap<Tap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Tap",
                       {
                           InstanceAccessor<&Tap::GetName>("name"),
                           InstanceAccessor<&Tap::GetFd>("fd"),
                           InstanceAccessor<&Tap::GetVnetHdrSize>("vnetHdrSize"),
                           InstanceAccessor<&Tap::GetUsoWrite>("usoWrite"),
                           InstanceAccessor<&Tap::GetClosed>("closed"),
                           InstanceAccessor<&Tap::GetFailed>("failed"),
                           InstanceAccessor<&Tap::GetLastBytes>("lastBytes"),
                           InstanceMethod<&Tap::ReadStart>("readStart"),
                           InstanceMethod<&Tap::ReadStop>("readStop"),
                           InstanceMethod<&Tap::Pause>("pause"),
                           InstanceMethod<&Tap::Resume>("resume"),
                           InstanceMethod<&Tap::ReadNow>("readNow"),
                           InstanceMethod<&Tap::SetOnError>("setOnError"),
                           InstanceMethod<&Tap::Write>("write"),
                           InstanceMethod<&Tap::WriteBatch>("writeBatch"),
                           InstanceMethod<&Tap::Close>("close"),
                           InstanceMethod<&Tap::JsRef>("ref"),
                           InstanceMethod<&Tap::JsUnref>("unref"),
                           InstanceMethod<&Tap::HasRef>("hasRef"),
                           InstanceMethod<&Tap::Stats>("stats"),
                       });
  }

  // new Tap(name: string, opts?: { vnetHdr?, vnetHdrSize?, offload?, batchFrames?, batchBytes?,
  //                                 queueFrames?, queueBytes? })
  Tap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Tap>(info) {
    Napi::Env env = info.Env();
#ifndef __linux__
    throw Napi::Error::New(env, "TAP devices are only supported on Linux");
#else
    if (info.Length() < 1 || !info[0].IsString()) {
      throw Napi::TypeError::New(env, "Tap(name, opts): name must be a string");
    }
    std::string want = info[0].As<Napi::String>().Utf8Value();
    if (want.size() >= IFNAMSIZ) {
      throw Napi::RangeError::New(env, "TAP name '" + want + "' is longer than 15 characters");
    }
    bool vnet = false;
    bool offload = true;
    int vnetSize = 10;
    if (info.Length() >= 2 && info[1].IsObject()) {
      Napi::Object o = info[1].As<Napi::Object>();
      vnet = OptBool(o, "vnetHdr", false);
      offload = OptBool(o, "offload", true);
      vnetSize = static_cast<int>(OptNum(o, "vnetHdrSize", 10));
      if (vnetSize != 10 && vnetSize != 12) {
        throw Napi::RangeError::New(env, "vnetHdrSize must be 10 or 12");
      }
      batchFrames_ = static_cast<uint32_t>(OptNum(o, "batchFrames", kDefaultBatchFrames));
      batchBytes_ = static_cast<size_t>(OptNum(o, "batchBytes", static_cast<double>(kDefaultBatchBytes)));
      queueFrames_ = static_cast<size_t>(OptNum(o, "queueFrames", static_cast<double>(kDefaultQueueFrames)));
      queueBytes_ = static_cast<size_t>(OptNum(o, "queueBytes", static_cast<double>(kDefaultQueueBytes)));
      if (batchFrames_ < 1 || batchFrames_ > kMaxBatchFrames) {
        throw Napi::RangeError::New(env, "batchFrames must be within 1..4096");
      }
      if (batchBytes_ < 1 || batchBytes_ > kMaxBatchBytes) {
        throw Napi::RangeError::New(env, "batchBytes must be within 1..64 MiB");
      }
    }

    // The shared read buffer and lengths array: allocated once, reused by every wake-up.
    // Allocated before the fd and the poll handle exist, so a failed allocation leaks neither.
    rbufSize_ = batchBytes_ + kMaxFrame;
    Napi::Buffer<uint8_t> rbuf = Napi::Buffer<uint8_t>::New(env, rbufSize_);
    rbuf_ = rbuf.Data();
    rbufRef_ = Napi::Persistent(rbuf);
    Napi::Uint32Array lens = Napi::Uint32Array::New(env, batchFrames_);
    lens_ = lens.Data();
    lensRef_ = Napi::Persistent(lens);

    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      throw MakeErrnoError(env, std::string("cannot open /dev/net/tun for TAP '") + want + "': " + strerror(err),
                           err, "open", want, true);
    }
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    std::memcpy(ifr.ifr_name, want.data(), want.size());
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
      int err = errno;
      ::close(fd);
      throw MakeErrnoError(env, std::string("TUNSETIFF failed for TAP '") + want + "': " + strerror(err), err,
                           "ioctl(TUNSETIFF)", want, true);
    }
    name_.assign(ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ));
    if (vnet) {
      if (::ioctl(fd, TUNSETVNETHDRSZ, &vnetSize) < 0) {
        int err = errno;
        ::close(fd);
        throw MakeErrnoError(env, "TUNSETVNETHDRSZ failed for TAP '" + name_ + "': " + strerror(err), err,
                             "ioctl(TUNSETVNETHDRSZ)", name_, true);
      }
      // USO probe: the kernel accepts GSO_UDP_L4 frames written into a TAP from the same release
      // (6.2) that accepts TUN_F_USO4|TUN_F_USO6 here; older kernels answer EINVAL ("a way to test
      // for new features by trying to set them", tun.c set_offload). USO needs TUN_F_CSUM, which
      // would let the kernel hand us unchecksummed frames, so the flags are set back at once (to 0,
      // a new TAP's state, or to the offloads asked for below) before the TAP carries anything.
      usoWrite_ = ::ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | kTunFUso4 | kTunFUso6) == 0;
      unsigned int feats = offload ? (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) : 0;
      if (usoWrite_ || offload) {
        if (::ioctl(fd, TUNSETOFFLOAD, feats) < 0) {
          int err = errno;
          ::close(fd);
          throw MakeErrnoError(env, "TUNSETOFFLOAD failed for TAP '" + name_ + "': " + strerror(err), err,
                               "ioctl(TUNSETOFFLOAD)", name_, true);
        }
      }
      vnetHdrSize_ = vnetSize;
    }

    poll_ = new uv_poll_t;
    uv_loop_t* loop = nullptr;
    napi_status st = napi_get_uv_event_loop(env, &loop);
    int rc = st == napi_ok ? uv_poll_init(loop, poll_, fd) : UV_EINVAL;
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      ::close(fd);
      throw Napi::Error::New(env, "uv_poll_init failed for TAP '" + name_ + "': " + uv_strerror(rc));
    }
    poll_->data = this;
    fd_ = fd;

    // Keep the JS object alive while the fd is open (a forgotten, unref()'d TAP must not be freed
    // under a live poll handle). Released by close().
    Napi::ObjectWrap<Tap>::Ref();
    selfRefed_ = true;
    napi_add_env_cleanup_hook(env, &Tap::EnvCleanup, this);
    hookAdded_ = true;
#endif
  }

  ~Tap() override {
    // Normally closed already (the self-reference holds the object while open). Only OS resources
    // here: no JS may run from a finalizer.
    if (!closed_) {
      closed_ = true;
      if (poll_ != nullptr) {
        poll_->data = nullptr;
        uv_poll_stop(poll_);
        uv_close(reinterpret_cast<uv_handle_t*>(poll_), &Tap::OnHandleClosed);
        poll_ = nullptr;
      }
#ifdef __linux__
      if (fd_ >= 0) ::close(fd_);
#endif
      fd_ = -1;
    }
  }

 private:
  static bool OptBool(Napi::Object o, const char* key, bool dflt) {
    Napi::Value v = o.Get(key);
    return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt;
  }
  static double OptNum(Napi::Object o, const char* key, double dflt) {
    Napi::Value v = o.Get(key);
    return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
  }

  Napi::Value GetName(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }
  Napi::Value GetVnetHdrSize(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), vnetHdrSize_);
  }
  Napi::Value GetUsoWrite(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), usoWrite_); }
  Napi::Value GetClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), closed_); }
  Napi::Value GetFailed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), failed_); }
  // Bytes of the last readNow() batch.
  Napi::Value GetLastBytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(lastBytes_));
  }

  // readStart(cb(count, bytes)) -> [buffer, lengths]
  Napi::Value ReadStart(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsFunction()) {
      throw Napi::TypeError::New(env, "readStart(cb): cb must be a function");
    }
    if (closed_) throw Napi::Error::New(env, "TAP '" + name_ + "' is closed");
    onFrames_ = Napi::Persistent(info[0].As<Napi::Function>());
    EnsureAsyncContext(env);
    reading_ = true;
    UpdatePoll();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, rbufRef_.Value());
    out.Set(1u, lensRef_.Value());
    return out;
  }

  Napi::Value ReadStop(const Napi::CallbackInfo& info) {
    reading_ = false;
    UpdatePoll();
    return info.Env().Undefined();
  }

  // pause(): no more reads (the kernel's TAP queue holds further frames) until resume().
  Napi::Value Pause(const Napi::CallbackInfo& info) {
    reading_ = false;
    UpdatePoll();
    return info.Env().Undefined();
  }

  // resume() -> true if reading again (false: closed, failed or readStart never called).
  Napi::Value Resume(const Napi::CallbackInfo& info) {
    if (closed_ || failed_ || onFrames_.IsEmpty()) return Napi::Boolean::New(info.Env(), false);
    reading_ = true;
    UpdatePoll();
    return Napi::Boolean::New(info.Env(), true);
  }

  // readNow(maxFrames) -> frames read into the shared buffer (0: none queued, paused, closed or
  // failed); the caller hands them on as a wake-up's batch. Errors go to the error callback.
  Napi::Value ReadNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t n = 0;
    if (!closed_ && !failed_ && reading_ && !onFrames_.IsEmpty()) {
      double want = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 1;
      uint32_t limit = want >= batchFrames_ ? batchFrames_ : want >= 1 ? static_cast<uint32_t>(want) : 1;
      size_t bytes = 0;
      int err = 0;
      n = ReadBatch(&bytes, &err, limit);
      lastBytes_ = bytes;
      if (n > 0) {
        framesIn_ += n;
        bytesIn_ += bytes;
        readBatches_++;
        lastReadErr_ = 0;
      }
      if (err != 0) NoteReadError(err);
      FlushDeferredErrors();
    }
    return Napi::Number::New(env, n);
  }

  Napi::Value SetOnError(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() >= 1 && info[0].IsFunction()) {
      onError_ = Napi::Persistent(info[0].As<Napi::Function>());
      EnsureAsyncContext(env);
    } else {
      onError_.Reset();
    }
    return env.Undefined();
  }

  // Bytes of a Uint8Array/Buffer (or Int8Array/Uint8ClampedArray) with one Node-API call.
  static bool GetBytes(const Napi::Value& v, uint8_t** data, size_t* len) {
    napi_typedarray_type type;
    size_t length = 0;
    void* ptr = nullptr;
    if (napi_get_typedarray_info(v.Env(), v, &type, &length, &ptr, nullptr, nullptr) != napi_ok) {
      return false;
    }
    if (type != napi_uint8_array && type != napi_int8_array && type != napi_uint8_clamped_array) return false;
    *data = static_cast<uint8_t*>(ptr);
    *len = length;
    return true;
  }

  // write(frame: Uint8Array, head?: Uint8Array) -> 1 sent, 2 queued, 0 dropped.
  // With head: head then frame as one frame (writev), e.g. a virtio_net_hdr in front of a frame.
  Napi::Value Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* data = nullptr;
    size_t len = 0;
    if (info.Length() < 1 || !GetBytes(info[0], &data, &len)) {
      throw Napi::TypeError::New(env, "write(frame, head?): frame must be a Uint8Array");
    }
    int r;
    if (info.Length() >= 2 && !info[1].IsUndefined()) {
      uint8_t* head = nullptr;
      size_t headLen = 0;
      if (!GetBytes(info[1], &head, &headLen)) {
        throw Napi::TypeError::New(env, "write(frame, head?): head must be a Uint8Array");
      }
      r = WriteTwo(head, headLen, data, len);
    } else {
      r = WriteOne(data, len);
    }
    FlushDeferredErrors();
    return Napi::Number::New(env, r);
  }

  // writeBatch(buffer: Uint8Array, lengths: Uint32Array, count: number) -> frames accepted
  // Frames lie back to back in buffer; lengths[i] is frame i's size.
  Napi::Value WriteBatch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* data = nullptr;
    size_t len = 0;
    if (info.Length() < 3 || !GetBytes(info[0], &data, &len) || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array || !info[2].IsNumber()) {
      throw Napi::TypeError::New(env, "writeBatch(buffer: Uint8Array, lengths: Uint32Array, count: number)");
    }
    Napi::Uint32Array lens = info[1].As<Napi::Uint32Array>();
    double countD = info[2].As<Napi::Number>().DoubleValue();
    size_t count = countD > 0 ? static_cast<size_t>(countD) : 0;
    if (count > lens.ElementLength()) {
      throw Napi::RangeError::New(env, "writeBatch: count exceeds lengths.length");
    }
    const uint32_t* l = lens.Data();
    size_t off = 0;
    uint32_t accepted = 0;
    for (size_t i = 0; i < count; i++) {
      if (l[i] > len - off) {
        FlushDeferredErrors();
        throw Napi::RangeError::New(env, "writeBatch: lengths overrun the buffer");
      }
      if (WriteOne(data + off, l[i]) != 0) accepted++;
      off += l[i];
    }
    FlushDeferredErrors();
    return Napi::Number::New(env, accepted);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    CloseInternal();
    return info.Env().Undefined();
  }

  Napi::Value JsRef(const Napi::CallbackInfo& info) {
    refed_ = true;
    if (poll_ != nullptr && !closed_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  Napi::Value JsUnref(const Napi::CallbackInfo& info) {
    refed_ = false;
    if (poll_ != nullptr && !closed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.This();
  }

  Napi::Value HasRef(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), refed_); }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("framesIn", static_cast<double>(framesIn_));
    o.Set("framesOut", static_cast<double>(framesOut_));
    o.Set("bytesIn", static_cast<double>(bytesIn_));
    o.Set("bytesOut", static_cast<double>(bytesOut_));
    o.Set("readBatches", static_cast<double>(readBatches_));
    o.Set("writeQueued", static_cast<double>(writeQueued_));
    o.Set("writeDropped", static_cast<double>(writeDropped_));
    o.Set("writeErrors", static_cast<double>(writeErrors_));
    o.Set("readErrors", static_cast<double>(readErrors_));
    o.Set("emptyReads", static_cast<double>(emptyReads_));
    o.Set("queueFrames", static_cast<double>(wq_.size()));
    o.Set("queueBytes", static_cast<double>(wqBytes_));
    return o;
  }

  void EnsureAsyncContext(Napi::Env env) {
    if (asyncCtx_ != nullptr) return;
    napi_value resource = Value();
    napi_value rname;
    napi_create_string_utf8(env, "EopTap", NAPI_AUTO_LENGTH, &rname);
    if (napi_async_init(env, resource, rname, &asyncCtx_) != napi_ok) asyncCtx_ = nullptr;
  }

  // ---- I/O core (Linux) ----

  int WriteOne(const uint8_t* p, size_t len) {
#ifdef __linux__
    struct iovec iov[1] = {{const_cast<uint8_t*>(p), len}};
    return WriteV(iov, 1, len);
#else
    writeDropped_++;
    return 0;
#endif
  }

  int WriteTwo(const uint8_t* head, size_t headLen, const uint8_t* p, size_t len) {
#ifdef __linux__
    if (headLen == 0) return WriteOne(p, len);
    struct iovec iov[2] = {{const_cast<uint8_t*>(head), headLen}, {const_cast<uint8_t*>(p), len}};
    return WriteV(iov, 2, headLen + len);
#else
    writeDropped_++;
    return 0;
#endif
  }

#ifdef __linux__
  // One frame made of `n` pieces. Returns 1 sent, 2 queued, 0 dropped/failed. Never calls into JS
  // (errors are deferred so that a JS error handler cannot run in the middle of a batch); callers
  // flush them afterwards.
  int WriteV(const struct iovec* iov, int n, size_t len) {
    if (closed_ || failed_ || len == 0 || len > kMaxFrame) {
      writeDropped_++;
      return 0;
    }
    if (wq_.empty()) {
      for (;;) {
        ssize_t r = n == 1 ? ::write(fd_, iov[0].iov_base, len) : ::writev(fd_, iov, n);
        if (r >= 0) {
          framesOut_++;
          bytesOut_ += len;
          lastWriteErr_ = 0;
          return 1;
        }
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        writeErrors_++;
        writeDropped_++;
        NoteError("write", err);
        return 0;
      }
    }
    if (wq_.size() >= queueFrames_ || wqBytes_ + len > queueBytes_) {
      writeDropped_++;
      return 0;
    }
    // Queued frames are copied whole (the caller's buffers are only valid during the call).
    std::vector<uint8_t>& q = wq_.emplace_back();
    q.reserve(len);
    for (int i = 0; i < n; i++) {
      const uint8_t* b = static_cast<const uint8_t*>(iov[i].iov_base);
      q.insert(q.end(), b, b + iov[i].iov_len);
    }
    wqBytes_ += len;
    writeQueued_++;
    UpdatePoll();
    return 2;
  }
#endif

  void DrainQueue() {
#ifdef __linux__
    while (!wq_.empty() && !closed_ && !failed_) {
      std::vector<uint8_t>& f = wq_.front();
      ssize_t r = ::write(fd_, f.data(), f.size());
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) break;
        writeErrors_++;
        writeDropped_++;
        wqBytes_ -= f.size();
        wq_.pop_front();
        NoteError("write", err);
        continue;
      }
      framesOut_++;
      bytesOut_ += f.size();
      lastWriteErr_ = 0;
      wqBytes_ -= f.size();
      wq_.pop_front();
    }
    UpdatePoll();
#endif
  }

  // Reads one batch of at most `limit` frames; returns the number of frames read. Sets *err to a
  // hard read errno, if any.
  uint32_t ReadBatch(size_t* bytes, int* errOut, uint32_t limit) {
    uint32_t n = 0;
    size_t off = 0;
    *errOut = 0;
#ifdef __linux__
    while (n < limit && off < batchBytes_) {
      ssize_t r = ::read(fd_, rbuf_ + off, kMaxFrame);
      if (r < 0) {
        int err = errno;
        if (err == EINTR) continue;
        if (err != EAGAIN && err != EWOULDBLOCK) *errOut = err;
        else emptyReads_++;
        break;
      }
      if (r == 0) break;
      lens_[n++] = static_cast<uint32_t>(r);
      off += static_cast<size_t>(r);
    }
#endif
    *bytes = off;
    return n;
  }

  void UpdatePoll() {
    if (poll_ == nullptr || closed_) return;
    int want = 0;
    if (!failed_) {
      if (reading_) want |= UV_READABLE;
      if (!wq_.empty()) want |= UV_WRITABLE;
    }
    if (want == events_) return;
    if (want == 0) {
      uv_poll_stop(poll_);
    } else {
      int rc = uv_poll_start(poll_, want, &Tap::OnPoll);
      if (rc != 0) {
        // Cannot watch the fd any more: report as a fatal error of the poll.
        events_ = 0;
        failed_ = true;
        pending_.push_back({"poll", EBADF});
        return;
      }
    }
    events_ = want;
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    Tap* self = static_cast<Tap*>(handle->data);
    if (self == nullptr || self->closed_) return;
    self->HandlePoll(status, events);
  }

  void HandlePoll(int status, int events) {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    // A local handle keeps the JS object (and so `this`) alive for the whole wake-up, even if the
    // JS callback closes the TAP and drops its last reference.
    Napi::Object keep = Value();
    (void)keep;

    if (status < 0) {
      // libuv saw POLLERR and has already stopped the handle. Learn the real errno with a read.
      events_ = 0;
      int err = EBADF;
#ifdef __linux__
      uint8_t probe[64];
      ssize_t r = ::read(fd_, probe, sizeof probe);
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
#endif
      readErrors_++;
      failed_ = true;
      DropQueue();
      ReportError("read", err, true);
      return;
    }

    if ((events & UV_WRITABLE) != 0) DrainQueue();
    if (!closed_ && !failed_ && reading_ && (events & UV_READABLE) != 0) {
      size_t bytes = 0;
      int err = 0;
      // A wake-up long after the previous one is most likely a lone frame: read just it.
      uint64_t nowMs = uv_now(poll_->loop);
      uint32_t limit = nowMs - lastWakeMs_ >= kLoneGapMs ? 1 : batchFrames_;
      lastWakeMs_ = nowMs;
      uint32_t n = ReadBatch(&bytes, &err, limit);
      if (n > 0) {
        framesIn_ += n;
        bytesIn_ += bytes;
        readBatches_++;
        lastReadErr_ = 0;
        if (!onFrames_.IsEmpty()) {
          napi_value argv[2];
          napi_create_uint32(env, n, &argv[0]);
          napi_create_double(env, static_cast<double>(bytes), &argv[1]);
          CallJs(onFrames_, 2, argv);
        }
      }
      if (err != 0 && !closed_) {
        readErrors_++;
        bool fatal = IsFatal(err);
        if (fatal) {
          failed_ = true;
          DropQueue();
          UpdatePoll();
          ReportError("read", err, true);
        } else if (err != lastReadErr_) {
          lastReadErr_ = err;
          ReportError("read", err, false);
        }
      }
    }
    FlushDeferredErrors();
  }

  // A hard read error met by readNow(): like a wake-up's, but reported through the deferred list
  // (JS is on the stack).
  void NoteReadError(int err) {
    readErrors_++;
    if (IsFatal(err)) {
      failed_ = true;
      DropQueue();
      UpdatePoll();
      pending_.push_back({"read", err});
    } else if (err != lastReadErr_) {
      lastReadErr_ = err;
      pending_.push_back({"read", err});
    }
  }

  void DropQueue() {
    writeDropped_ += wq_.size();
    wq_.clear();
    wqBytes_ = 0;
  }

  // Write errors: recorded while writing, reported to JS afterwards (FlushDeferredErrors).
  void NoteError(const char* syscall, int err) {
    bool fatal = IsFatal(err);
    if (fatal) {
      failed_ = true;
      DropQueue();
      UpdatePoll();
      pending_.push_back({syscall, err});
      return;
    }
    if (err == lastWriteErr_) return;  // same non-fatal error as last time: counted, not re-reported
    lastWriteErr_ = err;
    pending_.push_back({syscall, err});
  }

  void FlushDeferredErrors() {
    if (pending_.empty()) return;
    std::vector<PendingError> errs;
    errs.swap(pending_);
    for (const PendingError& e : errs) {
      if (closed_) break;
      bool fatal = IsFatal(e.err) || std::strcmp(e.syscall, "poll") == 0;
      ReportError(e.syscall, e.err, fatal);
      if (fatal) break;  // one fatal report is enough
    }
  }

  void ReportError(const char* syscall, int err, bool fatal) {
    if (fatal) {
      if (fatalReported_) return;
      fatalReported_ = true;
    }
    if (onError_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    std::string msg = "TAP '" + name_ + "': " + syscall + " failed: " + strerror(err) + " (" + ErrnoName(err) + ")";
    if (fatal) msg += "; the interface was deleted or detached, close this TAP";
    Napi::Error e = MakeErrnoError(env, msg, err, syscall, name_, fatal);
    napi_value argv[1] = {e.Value()};
    CallJs(onError_, 1, argv);
  }

  // Calls a JS callback from the event loop with a proper callback scope (microtasks run after
  // it). A throw becomes an uncaught exception, as for any event listener.
  void CallJs(Napi::FunctionReference& fn, size_t argc, napi_value* argv) {
    Napi::Env env = Env();
    napi_value result;
    napi_value recv = Value();
    napi_status st;
    if (asyncCtx_ != nullptr) {
      st = napi_make_callback(env, asyncCtx_, recv, fn.Value(), argc, argv, &result);
    } else {
      st = napi_call_function(env, recv, fn.Value(), argc, argv, &result);
    }
    if (st != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value ex;
        napi_get_and_clear_last_exception(env, &ex);
        napi_fatal_exception(env, ex);
      }
    }
  }

  static void OnHandleClosed(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  static void EnvCleanup(void* arg) {
    Tap* self = static_cast<Tap*>(arg);
    self->inCleanupHook_ = true;
    self->CloseInternal();
  }

  void CloseInternal() {
    if (closed_) return;
    closed_ = true;
    reading_ = false;
    DropQueue();
    if (poll_ != nullptr) {
      poll_->data = nullptr;
      uv_poll_stop(poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), &Tap::OnHandleClosed);
      poll_ = nullptr;
    }
    events_ = 0;
#ifdef __linux__
    if (fd_ >= 0) ::close(fd_);
#endif
    fd_ = -1;
    napi_env env = Env();
    if (hookAdded_) {
      hookAdded_ = false;
      if (!inCleanupHook_) napi_remove_env_cleanup_hook(env, &Tap::EnvCleanup, this);
    }
    if (!inCleanupHook_) {
      if (asyncCtx_ != nullptr) {
        napi_async_destroy(env, asyncCtx_);
        asyncCtx_ = nullptr;
      }
      onFrames_.Reset();
      onError_.Reset();
      // Drop the self-reference taken at open: the object may now be collected.
      if (selfRefed_) {
        selfRefed_ = false;
        Napi::ObjectWrap<Tap>::Unref();
      }
    }
  }

  struct PendingError {
    const char* syscall;
    int err;
  };

  int fd_ = -1;
  std::string name_;
  int vnetHdrSize_ = 0;
  // A vnet-header TAP that takes GSO_UDP_L4 frames (Linux >= 6.2; see the open).
  bool usoWrite_ = false;
  uv_poll_t* poll_ = nullptr;
  int events_ = 0;
  bool reading_ = false;
  bool refed_ = true;
  bool closed_ = false;
  bool failed_ = false;
  bool fatalReported_ = false;
  bool hookAdded_ = false;
  bool selfRefed_ = false;
  bool inCleanupHook_ = false;
  napi_async_context asyncCtx_ = nullptr;

  uint32_t batchFrames_ = kDefaultBatchFrames;
  size_t batchBytes_ = kDefaultBatchBytes;
  size_t queueFrames_ = kDefaultQueueFrames;
  size_t queueBytes_ = kDefaultQueueBytes;

  uint8_t* rbuf_ = nullptr;
  size_t rbufSize_ = 0;
  uint32_t* lens_ = nullptr;
  Napi::Reference<Napi::Buffer<uint8_t>> rbufRef_;
  Napi::Reference<Napi::Uint32Array> lensRef_;
  Napi::FunctionReference onFrames_;
  Napi::FunctionReference onError_;

  std::deque<std::vector<uint8_t>> wq_;
  size_t wqBytes_ = 0;
  std::vector<PendingError> pending_;
  int lastWriteErr_ = 0;
  int lastReadErr_ = 0;

  uint64_t framesIn_ = 0, framesOut_ = 0, bytesIn_ = 0, bytesOut_ = 0, readBatches_ = 0;
  uint64_t writeQueued_ = 0, writeDropped_ = 0, writeErrors_ = 0, readErrors_ = 0, emptyReads_ = 0;
  uint64_t lastWakeMs_ = 0;
  size_t lastBytes_ = 0;
};

Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  eop_checksum::InitChecksum(env, exports);  // native/checksum/checksum.cc
  Napi::Function ctor = Tap::Init(env);
  exports.Set("Tap", ctor);
  exports.Set("maxFrame", Napi::Number::New(env, static_cast<double>(kMaxFrame)));
#ifdef __linux__
  exports.Set("supported", Napi::Boolean::New(env, true));
#else
  exports.Set("supported", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(eop_tap, InitModule)
