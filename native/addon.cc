// N-API bindings: each kernel works in place on typed arrays owned by JavaScript (no copies).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <node_api.h>
#include <unistd.h>
#include <v8.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "criteo.h"
#include "dense.h"
#include "sequence.h"
#include "block-io.h"
#include "embedding.h"
#include "gemm.h"
#include "lanes.h"
#include "pool.h"
#include "scan.h"

namespace {

struct JsError {
  std::string message;
};

void check(napi_status status, const char* what) {
  if (status != napi_ok) throw JsError{std::string("hotline native: ") + what};
}

class Args {
 public:
  Args(napi_env env, napi_callback_info info, size_t expected) : env_(env), values_(expected) {
    size_t argc = expected;
    check(napi_get_cb_info(env, info, &argc, values_.data(), nullptr, nullptr), "arguments");
    if (argc < expected) throw JsError{"hotline native: expected " + std::to_string(expected) + " arguments"};
  }
  napi_value operator[](size_t i) const { return values_[i]; }
  double number(size_t i) const {
    double v;
    check(napi_get_value_double(env_, values_[i], &v), "number argument");
    return v;
  }
  int64_t integer(size_t i) const { return static_cast<int64_t>(number(i)); }
  std::string text(size_t i) const {
    size_t length = 0;
    check(napi_get_value_string_utf8(env_, values_[i], nullptr, 0, &length), "string argument");
    std::string out(length, '\0');
    check(napi_get_value_string_utf8(env_, values_[i], out.data(), length + 1, &length), "string argument");
    return out;
  }
  bool flag(size_t i) const {
    bool v;
    check(napi_get_value_bool(env_, values_[i], &v), "boolean argument");
    return v;
  }
  template <typename T>
  T* array(size_t i, size_t* lengthOut = nullptr) const { return arrayOf<T>(values_[i], lengthOut); }
  bool isNull(size_t i) const {
    napi_valuetype type;
    check(napi_typeof(env_, values_[i], &type), "typeof");
    return type == napi_null || type == napi_undefined;
  }
  template <typename T>
  T* arrayOf(napi_value value, size_t* lengthOut = nullptr) const {
    napi_typedarray_type type;
    size_t length;
    void* data;
    check(napi_get_typedarray_info(env_, value, &type, &length, &data, nullptr, nullptr), "typed array argument");
    const napi_typedarray_type want = std::is_same_v<T, float>      ? napi_float32_array
                                      : std::is_same_v<T, double>   ? napi_float64_array
                                      : std::is_same_v<T, uint32_t> ? napi_uint32_array
                                                                    : napi_int32_array;
    if (type != want) throw JsError{"hotline native: typed array of the wrong element type"};
    if (lengthOut) *lengthOut = length;
    return static_cast<T*>(data);
  }
  // The elements of a JS array of typed arrays (or nulls, read as nullptr), with their lengths when asked.
  template <typename T>
  std::vector<T*> arrays(size_t i, std::vector<size_t>* lengths = nullptr) const {
    uint32_t n;
    check(napi_get_array_length(env_, values_[i], &n), "array argument");
    std::vector<T*> out(n);
    if (lengths) lengths->assign(n, 0);
    for (uint32_t k = 0; k < n; ++k) {
      napi_value item;
      napi_valuetype type;
      check(napi_get_element(env_, values_[i], k, &item), "array element");
      check(napi_typeof(env_, item, &type), "typeof");
      out[k] = type == napi_null ? nullptr : arrayOf<T>(item, lengths ? &(*lengths)[k] : nullptr);
    }
    return out;
  }

 private:
  napi_env env_;
  std::vector<napi_value> values_;
};

template <size_t N, typename Fn>
napi_value guarded(napi_env env, napi_callback_info info, Fn fn) {
  try {
    Args args(env, info, N);
    return fn(args);
  } catch (const JsError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
    return nullptr;
  } catch (const std::exception& e) {  // e.g. bad_alloc, or a handle out of range: an Error, not an abort
    napi_throw_error(env, nullptr, (std::string("hotline native: ") + e.what()).c_str());
    return nullptr;
  }
}

napi_value numberValue(napi_env env, double value) {
  napi_value v;
  check(napi_create_double(env, value, &v), "number");
  return v;
}

napi_value undefinedValue(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

template <bool Own>
napi_value Gemm(napi_env env, napi_callback_info info) {
  return guarded<13>(env, info, [&](const Args& a) {
    (Own ? sgemmOwn : sgemm)(a.flag(0), a.flag(1), a.integer(2), a.integer(3), a.integer(4),
                             static_cast<float>(a.number(5)), a.array<float>(6), a.integer(7), a.array<float>(8),
                             a.integer(9), static_cast<float>(a.number(10)), a.array<float>(11), a.integer(12));
    return undefinedValue(env);
  });
}

napi_value BiasActivation(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [&](const Args& a) {
    biasActivation(a.array<float>(0), a.integer(1), a.integer(2), a.array<float>(3), a.flag(4));
    return undefinedValue(env);
  });
}

napi_value ActivationBackward(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [&](const Args& a) {
    activationBackward(a.array<float>(0), a.array<float>(1), a.integer(2), a.integer(3), a.flag(4), a.array<float>(5),
                       a.flag(6));
    return undefinedValue(env);
  });
}

napi_value InteractionDotForward(napi_env env, napi_callback_info info) {
  return guarded<6>(env, info, [&](const Args& a) {
    interactionDotForward(a.array<float>(0), a.integer(1), a.integer(2), a.integer(3), a.array<float>(4),
                          a.integer(5));
    return undefinedValue(env);
  });
}

napi_value InteractionDotBackward(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [&](const Args& a) {
    interactionDotBackward(a.array<float>(0), a.array<float>(1), a.integer(2), a.integer(3), a.integer(4),
                           a.integer(5), a.array<float>(6));
    return undefinedValue(env);
  });
}

// A head's span of a batch of sequences, as five integers from argument `at` on.
SequenceSpan spanAt(const Args& a, size_t at) {
  return {a.integer(at), a.integer(at + 1), a.integer(at + 2), a.integer(at + 3), a.integer(at + 4)};
}

napi_value SphereForward(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [&](const Args& a) {
    sphereForward(a.array<float>(0), a.integer(1), a.integer(2), a.array<float>(3), a.array<float>(4));
    return undefinedValue(env);
  });
}

napi_value SphereBackward(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [&](const Args& a) {
    sphereBackward(a.array<float>(0), a.array<float>(1), a.integer(2), a.integer(3), a.array<float>(4));
    return undefinedValue(env);
  });
}

napi_value AttendForward(napi_env env, napi_callback_info info) {
  return guarded<9>(env, info, [&](const Args& a) {
    attendForward(a.array<float>(0), spanAt(a, 1), a.array<float>(6), a.integer(7), a.array<float>(8));
    return undefinedValue(env);
  });
}

napi_value AttendBackward(napi_env env, napi_callback_info info) {
  return guarded<12>(env, info, [&](const Args& a) {
    attendBackward(a.array<float>(0), spanAt(a, 1), a.array<float>(6), a.integer(7), a.array<float>(8), a.array<float>(9),
                   a.array<float>(10), a.integer(11));
    return undefinedValue(env);
  });
}

napi_value ContextForward(napi_env env, napi_callback_info info) {
  return guarded<9>(env, info, [&](const Args& a) {
    contextForward(a.array<float>(0), spanAt(a, 1), a.array<float>(6), a.array<float>(7), a.integer(8));
    return undefinedValue(env);
  });
}

napi_value ContextBackward(napi_env env, napi_callback_info info) {
  return guarded<11>(env, info, [&](const Args& a) {
    contextBackward(a.array<float>(0), spanAt(a, 1), a.array<float>(6), a.array<float>(7), a.integer(8), a.array<float>(9),
                    a.array<float>(10));
    return undefinedValue(env);
  });
}

// The bounds check: off by default (then it costs a branch per call); on when HOTLINE_BOUNDS_CHECK=1 as the
// addon loads, or after setBoundsCheck(true). When on, every binding that reads rows by id checks its ids,
// offsets and array lengths before the kernel runs, and throws instead of touching memory outside them.
// Process-wide (worker threads share it), read when the library loads.
std::atomic<bool> boundsCheck{[] {
  const char* asked = std::getenv("HOTLINE_BOUNDS_CHECK");
  return asked != nullptr && std::strcmp(asked, "1") == 0;
}()};

[[noreturn]] void failTable(size_t t, const std::string& what) {
  throw JsError{"hotline native: table " + std::to_string(t) + ": " + what};
}

// Tables of dim floats per row (rows = floats / dim), with each one's Adagrad state length (0 without one).
struct Tables {
  std::vector<TableView> views;
  std::vector<size_t> stateFloats;
};

// Reads weights[] at argument `at`, and their states[] (or null) at at + 1 when withStates.
Tables readTables(const Args& a, size_t at, bool withStates, int64_t dim) {
  std::vector<size_t> floats;
  const auto weights = a.arrays<float>(at, &floats);
  Tables tables;
  tables.stateFloats.assign(weights.size(), 0);
  const auto states = !withStates || a.isNull(at + 1) ? std::vector<float*>(weights.size(), nullptr)
                                                      : a.arrays<float>(at + 1, &tables.stateFloats);
  if (states.size() != weights.size()) throw JsError{"hotline native: tables and states differ in count"};
  for (size_t t = 0; t < weights.size(); ++t)
    tables.views.push_back({weights[t], states[t], dim > 0 ? static_cast<int64_t>(floats[t]) / dim : 0});
  return tables;
}

// Every table's lookups (indices[] at argument `at`, offsets[] at at + 1), with the lengths of their arrays.
struct Lookups {
  std::vector<BagsView> bags;
  std::vector<size_t> indexCounts, offsetCounts;
};

Lookups readLookups(const Args& a, size_t at, size_t tables) {
  Lookups l;
  const auto indices = a.arrays<int32_t>(at, &l.indexCounts);
  const auto offsets = a.arrays<int32_t>(at + 1, &l.offsetCounts);
  if (indices.size() != tables || offsets.size() != tables)
    throw JsError{"hotline native: tables, indices and offsets differ in count"};
  for (size_t t = 0; t < tables; ++t) l.bags.push_back({indices[t], offsets[t]});
  return l;
}

void checkLookups(const Lookups& l, size_t t, int64_t bagCount, int64_t rows) {
  const std::string error = lookupError(l.bags[t], bagCount, static_cast<int64_t>(l.indexCounts[t]),
                                        static_cast<int64_t>(l.offsetCounts[t]), rows);
  if (!error.empty()) failTable(t, error);
}

// The bounds check of a binding that pools rows into, or reads gradients from, an activation of
// `activationFloats` floats; with Adagrad, each table's state must hold a float per row.
void checkTables(const Tables& tables, const Lookups& lookups, const SlotLayout& layout, size_t activationFloats, bool adagrad) {
  const std::string error = layoutError(layout, static_cast<int64_t>(tables.views.size()), static_cast<int64_t>(activationFloats));
  if (!error.empty()) throw JsError{"hotline native: " + error};
  for (size_t t = 0; t < tables.views.size(); ++t) {
    const int64_t rows = tables.views[t].rows;
    checkLookups(lookups, t, layout.bags, rows);
    if (adagrad && static_cast<int64_t>(tables.stateFloats[t]) < rows)
      failTable(t, "its row-wise Adagrad state holds " + std::to_string(tables.stateFloats[t]) + " floats for its " +
                       std::to_string(rows) + " rows");
  }
}

SlotLayout readLayout(const Args& a, size_t at) {
  return SlotLayout{a.integer(at), a.integer(at + 1), a.integer(at + 2), a.integer(at + 3)};
}

// Arguments 0..11 of embeddingUpdate and laneUpdate: (weights[], states[] | null, indices[], offsets[],
// bags, dim, stride, slot0, grad, optimizer, lr, eps).
struct UpdateArgs {
  Tables tables;
  Lookups lookups;
  SlotLayout layout;
  const float* grad;
  SparseOptimizer optimizer;
  float lr, eps;
};

UpdateArgs readUpdateArgs(const Args& a) {
  const SlotLayout layout = readLayout(a, 4);
  Tables tables = readTables(a, 0, true, layout.dim);
  Lookups lookups = readLookups(a, 2, tables.views.size());
  size_t gradFloats = 0;
  const float* grad = a.array<float>(8, &gradFloats);
  const SparseOptimizer optimizer = a.integer(9) == 1 ? SparseOptimizer::RowWiseAdagrad : SparseOptimizer::Sgd;
  if (optimizer == SparseOptimizer::RowWiseAdagrad)
    for (const auto& t : tables.views)
      if (!t.state) throw JsError{"hotline native: row-wise Adagrad needs a state array for every table"};
  if (boundsCheck) checkTables(tables, lookups, layout, gradFloats, optimizer == SparseOptimizer::RowWiseAdagrad);
  return UpdateArgs{std::move(tables), std::move(lookups), layout, grad, optimizer, static_cast<float>(a.number(10)),
                    static_cast<float>(a.number(11))};
}

napi_value EmbeddingForward(napi_env env, napi_callback_info info) {
  return guarded<10>(env, info, [&](const Args& a) {
    const SlotLayout layout = readLayout(a, 4);
    const Tables tables = readTables(a, 0, false, layout.dim);
    const Lookups lookups = readLookups(a, 2, tables.views.size());
    size_t outFloats = 0;
    float* out = a.array<float>(8, &outFloats);
    if (boundsCheck) checkTables(tables, lookups, layout, outFloats, false);
    embeddingForward(tables.views.data(), lookups.bags.data(), static_cast<int64_t>(tables.views.size()), layout, out,
                     a.flag(9));
    return undefinedValue(env);
  });
}

napi_value EmbeddingUpdate(napi_env env, napi_callback_info info) {
  return guarded<12>(env, info, [&](const Args& a) {
    const UpdateArgs u = readUpdateArgs(a);
    embeddingUpdate(u.tables.views.data(), u.lookups.bags.data(), static_cast<int64_t>(u.tables.views.size()), u.layout,
                    u.grad, u.optimizer, u.lr, u.eps);
    return undefinedValue(env);
  });
}

// (slotOf[], indices[], offsets[], bags, fastIndices[], fastOffsets[], hostIndices[], hostOffsets[])
// Arguments: slotOf[], ids, offsets, tables, bags, tierEnd, outIds[], outOffsets[] (see splitLookups).
napi_value SplitLookups(napi_env env, napi_callback_info info) {
  return guarded<8>(env, info, [&](const Args& a) {
    std::vector<size_t> slots, idRoom, offsetRoom;
    size_t idCount = 0, offsetCount = 0, tierEnds = 0;
    const auto slotOf = a.arrays<int32_t>(0, &slots);
    const int32_t* ids = a.array<int32_t>(1, &idCount);
    const int32_t* offsets = a.array<int32_t>(2, &offsetCount);
    const int64_t tables = a.integer(3), bags = a.integer(4);
    const int32_t* tierEnd = a.array<int32_t>(5, &tierEnds);
    const auto outIds = a.arrays<int32_t>(6, &idRoom), outOffsets = a.arrays<int32_t>(7, &offsetRoom);
    const size_t tiers = outIds.size();
    if (tiers < 1 || tiers > 8 || outOffsets.size() != tiers || tierEnds + 1 != tiers)
      throw JsError{"hotline native: a split needs 1 to 8 tiers, each with its ids and offsets, and an end per placed tier"};
    if (slotOf.size() != static_cast<size_t>(tables)) throw JsError{"hotline native: tables and slot maps differ in count"};
    if (boundsCheck) {
      if (bags < 0 || offsetCount != static_cast<size_t>(tables * bags + 1) || offsets[0] != 0 ||
          static_cast<size_t>(offsets[tables * bags]) != idCount)
        throw JsError{"hotline native: a jagged batch needs tables x bags + 1 offsets from 0 to its ids"};
      for (int64_t t = 0; t < tables; ++t) {
        const std::string error = lookupError({ids, offsets + t * bags}, bags, static_cast<int64_t>(idCount), bags + 1, static_cast<int64_t>(slots[t]));
        if (!error.empty()) failTable(static_cast<size_t>(t), error);
        const int32_t* map = slotOf[t];
        for (int64_t p = offsets[t * bags]; p < offsets[(t + 1) * bags]; ++p)
          if (map[ids[p]] >= (tierEnds ? tierEnd[tierEnds - 1] : 0) || map[ids[p]] < -1)
            failTable(static_cast<size_t>(t), "row " + std::to_string(ids[p]) + " has slot " + std::to_string(map[ids[p]]) + ", outside the placed tiers");
      }
      for (size_t k = 0; k < tiers; ++k)
        if (idRoom[k] < idCount || offsetRoom[k] != offsetCount)
          throw JsError{"hotline native: tier " + std::to_string(k) + "'s split outputs are too small"};
    }
    splitLookups(slotOf.data(), ids, offsets, tables, bags, tierEnd, static_cast<int64_t>(tiers), outIds.data(), outOffsets.data());
    return undefinedValue(env);
  });
}

// Arguments: ids, offsets, bagCount, rows, starts, lookups (see rowSegments); returns the distinct rows.
napi_value RowSegments(napi_env env, napi_callback_info info) {
  return guarded<6>(env, info, [&](const Args& a) {
    size_t idCount = 0, offsetCount = 0, rowRoom = 0, startRoom = 0, lookupRoom = 0;
    const int32_t* ids = a.array<int32_t>(0, &idCount);
    const int32_t* offsets = a.array<int32_t>(1, &offsetCount);
    const int64_t bagCount = a.integer(2);
    int32_t* rows = a.array<int32_t>(3, &rowRoom);
    int32_t* starts = a.array<int32_t>(4, &startRoom);
    int32_t* lookups = a.array<int32_t>(5, &lookupRoom);
    if (bagCount < 0 || offsetCount != static_cast<size_t>(bagCount + 1)) throw JsError{"hotline native: row segments need bags + 1 offsets"};
    const int64_t n = offsets[bagCount] - offsets[0];
    for (int64_t b = 0; b < bagCount; ++b)
      if (offsets[b + 1] < offsets[b]) throw JsError{"hotline native: bag offsets must not decrease"};
    if (offsets[0] < 0 || static_cast<size_t>(offsets[bagCount]) > idCount) throw JsError{"hotline native: bag offsets run past the ids"};
    if (rowRoom < static_cast<size_t>(n) || lookupRoom < static_cast<size_t>(n) || startRoom < static_cast<size_t>(n + 1))
      throw JsError{"hotline native: row segment outputs are too small"};
    for (int64_t q = offsets[0]; q < offsets[bagCount]; ++q)
      if (ids[q] < 0) throw JsError{"hotline native: a negative id " + std::to_string(ids[q]) + " at lookup " + std::to_string(q)};
    return numberValue(env, static_cast<double>(rowSegments(ids, offsets, bagCount, rows, starts, lookups)));
  });
}

// Block files by handle (an index; closed ones keep their place).
std::vector<BlockFile>& blockFiles() {
  static std::vector<BlockFile> files;
  return files;
}

BlockFile& blockFile(int64_t handle) {
  auto& files = blockFiles();
  if (handle < 0 || static_cast<size_t>(handle) >= files.size() || files[handle].fd < 0) throw JsError{"hotline native: no such open block file"};
  return files[static_cast<size_t>(handle)];
}

// Arguments: path, create, tryDirect; returns the handle, negated minus one when O_DIRECT was refused.
napi_value BlockFileOpen(napi_env env, napi_callback_info info) {
  return guarded<3>(env, info, [&](const Args& a) {
    const BlockFile file = openBlockFile(a.text(0), a.flag(1), a.flag(2));
    blockFiles().push_back(file);
    const auto handle = static_cast<double>(blockFiles().size() - 1);
    return numberValue(env, file.direct ? handle : -handle - 1);
  });
}

napi_value BlockFileClose(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    closeBlockFile(blockFile(a.integer(0)));
    return undefinedValue(env);
  });
}

// The block indices of a transfer, checked, widened for transferBlocks.
std::vector<int64_t> blockIndices(const int32_t* blocks, size_t count) {
  std::vector<int64_t> wide(count);
  for (size_t i = 0; i < count; ++i) {
    if (blocks[i] < 0) throw JsError{"hotline native: a negative block index"};
    wide[i] = blocks[i];
  }
  return wide;
}

// Arguments: handle, engine (0 threads, 1 io_uring), write, blocks (Int32Array), blockBytes, buffer (Float32Array), queueDepth.
napi_value BlockTransfer(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [&](const Args& a) {
    const BlockFile& file = blockFile(a.integer(0));
    size_t count = 0, floats = 0;
    const int32_t* blocks = a.array<int32_t>(3, &count);
    const int64_t blockBytes = a.integer(4);
    auto* buffer = reinterpret_cast<uint8_t*>(a.array<float>(5, &floats));
    if (blockBytes <= 0 || blockBytes % 4096 != 0) throw JsError{"hotline native: blocks are a multiple of 4096 bytes"};
    if (floats * 4 < count * static_cast<size_t>(blockBytes)) throw JsError{"hotline native: the buffer is smaller than the blocks"};
    if (file.direct && reinterpret_cast<uintptr_t>(buffer) % 4096 != 0) throw JsError{"hotline native: O_DIRECT needs a 4096-aligned buffer"};
    const std::vector<int64_t> wide = blockIndices(blocks, count);
    transferBlocks(file, a.integer(1) == 1 ? IoEngine::Uring : IoEngine::Threads, a.flag(2), wide.data(), static_cast<int64_t>(count), blockBytes,
                   buffer, static_cast<int>(a.integer(6)));
    return undefinedValue(env);
  });
}

Lane& laneArg(const Args& a, size_t i);

napi_value BlockFileSync(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    syncBlockFile(blockFile(a.integer(0)));
    return undefinedValue(env);
  });
}

// Arguments: handles (Int32Array), engine, write, blocks (one Int32Array per handle), blockBytes, buffers (one
// Float32Array per handle), queueDepth, lane. Every file's transfers go out together, queueDepth in flight, as one job
// of the lane (the buffers must stay untouched until it was waited for); its count is the bytes moved, its failure
// the wait's error.
napi_value LaneBlockTransfer(napi_env env, napi_callback_info info) {
  return guarded<8>(env, info, [&](const Args& a) {
    Lane& lane = laneArg(a, 7);
    size_t files = 0;
    const int32_t* handles = a.array<int32_t>(0, &files);
    std::vector<size_t> blockCounts, floatCounts;
    const std::vector<int32_t*> blockLists = a.arrays<int32_t>(3, &blockCounts);
    const std::vector<float*> buffers = a.arrays<float>(5, &floatCounts);
    const int64_t blockBytes = a.integer(4);
    if (blockBytes <= 0 || blockBytes % 4096 != 0) throw JsError{"hotline native: blocks are a multiple of 4096 bytes"};
    if (blockLists.size() != files || buffers.size() != files) throw JsError{"hotline native: one block list and one buffer per file"};
    std::vector<Request> requests;
    int64_t bytes = 0;
    for (size_t f = 0; f < files; ++f) {
      const BlockFile& file = blockFile(handles[f]);
      auto* buffer = reinterpret_cast<uint8_t*>(buffers[f]);
      if (floatCounts[f] * 4 < blockCounts[f] * static_cast<size_t>(blockBytes)) throw JsError{"hotline native: the buffer is smaller than the blocks"};
      if (file.direct && reinterpret_cast<uintptr_t>(buffer) % 4096 != 0) throw JsError{"hotline native: O_DIRECT needs a 4096-aligned buffer"};
      const std::vector<int64_t> wide = blockIndices(blockLists[f], blockCounts[f]);
      appendRequests(requests, file, wide.data(), static_cast<int64_t>(wide.size()), blockBytes, buffer);
      bytes += static_cast<int64_t>(wide.size()) * blockBytes;
    }
    const IoEngine engine = a.integer(1) == 1 ? IoEngine::Uring : IoEngine::Threads;
    const bool write = a.flag(2);
    const int queueDepth = static_cast<int>(a.integer(6));
    return numberValue(env, lane.submit([engine, write, requests = std::move(requests), queueDepth, bytes]() -> int64_t {
      transferRequests(engine, write, requests, queueDepth);
      return bytes;
    }));
  });
}

napi_value UringAvailable(napi_env env, napi_callback_info info) {
  return guarded<0>(env, info, [&](const Args&) {
    napi_value v;
    check(napi_get_boolean(env, uringAvailable(), &v), "boolean");
    return v;
  });
}

napi_value ParseCriteo(napi_env env, napi_callback_info info) {
  return guarded<5>(env, info, [&](const Args& a) {
    size_t length = 0, capacity = 0;
    napi_typedarray_type type;
    void* data;
    check(napi_get_typedarray_info(env, a[0], &type, &length, &data, nullptr, nullptr), "bytes");
    if (type != napi_uint8_array) throw JsError{"hotline native: parseCriteo needs a Uint8Array"};
    float* labels = a.arrayOf<float>(a[2], &capacity);
    size_t denseFloats = 0;
    float* dense = a.array<float>(3, &denseFloats);
    std::vector<size_t> keyLengths;
    const auto keys = a.arrays<double>(4, &keyLengths);
    // The rows it may write: as many as labels holds, so dense and every key column must hold them too.
    if (denseFloats < capacity * kCriteoDense || keys.size() != kCriteoCategorical ||
        std::any_of(keyLengths.begin(), keyLengths.end(), [&](size_t n) { return n < capacity; }))
      throw JsError{"hotline native: parseCriteo needs dense [rows x 13] and 26 key columns of rows, as labels"};
    return numberValue(env, parseCriteo(static_cast<const uint8_t*>(data), static_cast<int64_t>(length), a.flag(1), labels,
                                        dense, keys.data(), static_cast<int64_t>(capacity)));
  });
}

// (keys[], values[], counts[], local[]) -> distinct count per column, the columns counted in parallel.
napi_value CountKeys(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [&](const Args& a) {
    std::vector<size_t> lengths;
    const auto keys = a.arrays<double>(0, &lengths);
    const auto values = a.arrays<double>(1), counts = a.arrays<double>(2);
    const auto local = a.arrays<uint32_t>(3);
    std::vector<int64_t> distinct(keys.size());
    pool().parallelFor(static_cast<int64_t>(keys.size()), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) distinct[t] = countKeys(keys[t], static_cast<int64_t>(lengths[t]), values[t], counts[t], local[t]);
    });
    napi_value out;
    check(napi_create_array_with_length(env, distinct.size(), &out), "array");
    for (size_t t = 0; t < distinct.size(); ++t)
      check(napi_set_element(env, out, static_cast<uint32_t>(t), numberValue(env, distinct[t])), "element");
    return out;
  });
}

napi_value CreateCounts(napi_env env, napi_callback_info info) {
  return guarded<0>(env, info, [&](const Args&) { return numberValue(env, createCounts()); });
}

// (handle, values, counts)
napi_value AddCounts(napi_env env, napi_callback_info info) {
  return guarded<3>(env, info, [&](const Args& a) {
    size_t n = 0;
    const double* values = a.arrayOf<double>(a[1], &n);
    addCounts(a.integer(0), values, a.array<double>(2), static_cast<int64_t>(n));
    return undefinedValue(env);
  });
}

napi_value DistinctCounts(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) { return numberValue(env, distinctCounts(a.integer(0))); });
}

// (handle, minCount, keysById) -> how many keys made the vocabulary.
napi_value FinishCounts(napi_env env, napi_callback_info info) {
  return guarded<3>(env, info, [&](const Args& a) {
    return numberValue(env, finishCounts(a.integer(0), a.number(1), a.array<double>(2)));
  });
}

napi_value CreateVocabulary(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    size_t n = 0;
    const double* keys = a.arrayOf<double>(a[0], &n);
    return numberValue(env, createVocabulary(keys, static_cast<int64_t>(n)));
  });
}

// (handles as Int32Array, keys[], missing as Int32Array, ids[]): every column looked up, columns in parallel.
napi_value LookupVocabularies(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [&](const Args& a) {
    const int32_t* handles = a.array<int32_t>(0);
    std::vector<size_t> lengths;
    const auto keys = a.arrays<double>(1, &lengths);
    const int32_t* missing = a.array<int32_t>(2);
    const auto ids = a.arrays<int32_t>(3);
    pool().parallelFor(static_cast<int64_t>(keys.size()), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) lookupVocabulary(handles[t], keys[t], static_cast<int64_t>(lengths[t]), missing[t], ids[t]);
    });
    return undefinedValue(env);
  });
}

napi_value ReleaseVocabularies(napi_env env, napi_callback_info info) {
  return guarded<0>(env, info, [&](const Args&) {
    releaseVocabularies();
    return undefinedValue(env);
  });
}

napi_value CountLineEnds(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    size_t length = 0;
    napi_typedarray_type type;
    void* data;
    check(napi_get_typedarray_info(env, a[0], &type, &length, &data, nullptr, nullptr), "bytes");
    return numberValue(env, countLineEnds(static_cast<const uint8_t*>(data), static_cast<int64_t>(length)));
  });
}

napi_value DenseSgd(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [&](const Args& a) {
    denseSgd(a.array<float>(0), a.array<float>(1), a.integer(2), static_cast<float>(a.number(3)));
    return undefinedValue(env);
  });
}

napi_value DenseAdagrad(napi_env env, napi_callback_info info) {
  return guarded<6>(env, info, [&](const Args& a) {
    denseAdagrad(a.array<float>(0), a.array<float>(1), a.array<float>(2), a.integer(3),
                 static_cast<float>(a.number(4)), static_cast<float>(a.number(5)));
    return undefinedValue(env);
  });
}

napi_value FillUniform(napi_env env, napi_callback_info info) {
  return guarded<7>(env, info, [&](const Args& a) {
    fillUniform(a.array<float>(0), a.integer(1), static_cast<uint32_t>(a.integer(2)),
                static_cast<uint32_t>(a.integer(3)), a.number(4), a.number(5), a.integer(6));
    return undefinedValue(env);
  });
}

// A table's memory is mapped natively (allocateTable) and handed to JavaScript as an ArrayBuffer over a V8
// backing store whose deleter unmaps it once the buffer is collected. napi_create_external_arraybuffer would
// do the same in N-API, but Node 20 implements it through node::Buffer, which refuses more than 4 GiB; a
// Float32Array may have 2^32 elements (16 GiB). V8 may run the deleter on any thread: munmap is thread-safe.
napi_value tableBuffer(float* data, size_t bytes) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::shared_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(
      data, bytes, [](void* p, size_t length, void*) { freeTable(static_cast<float*>(p), static_cast<int64_t>(length / 4)); },
      nullptr);
  const v8::Local<v8::Value> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  // A napi_value is the address of a V8 handle in the callback's handle scope, as Node converts them
  // (v8impl::JsValueFromV8LocalValue in js_native_api_v8.h).
  static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>));
  return reinterpret_cast<napi_value>(*buffer);
}

napi_value AllocateTable(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    const int64_t floats = a.integer(0);
    if (floats < 1 || static_cast<uint64_t>(floats) > v8::TypedArray::kMaxLength)
      throw JsError{"hotline native: cannot allocate a table of " + std::to_string(floats) + " floats: one Float32Array holds 1 to " +
                    std::to_string(v8::TypedArray::kMaxLength)};
    float* data = allocateTable(floats);
    if (!data) throw JsError{"hotline native: could not map " + std::to_string(floats * 4) + " bytes for a table"};
    return tableBuffer(data, static_cast<size_t>(floats) * 4);
  });
}

// Arguments: path. The file mapped shared, read and write, as one ArrayBuffer (its pages are the page cache's: the
// benchmark's memory-mapped alternative to the ssd tier); unmapped once the buffer is collected.
napi_value MapFile(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    const std::string path = a.text(0);
    const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw JsError{path + ": " + std::strerror(errno)};
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size % 4 != 0) {
      close(fd);
      throw JsError{path + ": not a file of whole floats"};
    }
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int error = errno;
    close(fd);
    if (p == MAP_FAILED) throw JsError{path + ": mmap: " + std::strerror(error)};
    return tableBuffer(static_cast<float*>(p), static_cast<size_t>(st.st_size));
  });
}

// Lane jobs. Each binding takes the kernel's arguments, then the lane's index (from laneOpen) last, and returns
// the job's id. Gather arguments 0..7: host weights[], indices[], offsets[], bags, dim, stride, slot0, out -- the
// host rows of a micro-batch's bags, pooled into out at the layout's slots.
struct GatherArgs {
  Tables host;
  std::vector<BagsView> bags;
  SlotLayout layout;
  float* out;
};

GatherArgs readGatherArgs(const Args& a) {
  const SlotLayout layout = readLayout(a, 3);
  Tables host = readTables(a, 0, false, layout.dim);
  const Lookups lookups = readLookups(a, 1, host.views.size());
  size_t outFloats = 0;
  float* out = a.array<float>(7, &outFloats);
  if (boundsCheck) checkTables(host, lookups, layout, outFloats, false);
  return GatherArgs{std::move(host), lookups.bags, layout, out};
}

Lane& laneArg(const Args& a, size_t i) { return laneAt(static_cast<uint32_t>(a.integer(i))); }

// (owner) -> the index of the owner's lane, created with its thread on first use.
napi_value LaneOpen(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    return numberValue(env, laneOpen(a.text(0)));
  });
}

napi_value LaneGather(napi_env env, napi_callback_info info) {
  return guarded<9>(env, info, [&](const Args& a) {
    Lane& lane = laneArg(a, 8);
    const GatherArgs g = readGatherArgs(a);
    return numberValue(env, lane.submit([g]() -> int64_t {
      for (size_t t = 0; t < g.bags.size(); ++t)
        poolBags(g.host.views[t].weights, g.bags[t], static_cast<int64_t>(t), g.layout, g.out, false);
      return 0;
    }));
  });
}

// Re-pools the bags that read a row listed in touched[t] (argument 8: the rows a later update changed).
napi_value LaneRefetch(napi_env env, napi_callback_info info) {
  return guarded<10>(env, info, [&](const Args& a) {
    Lane& lane = laneArg(a, 9);
    const GatherArgs g = readGatherArgs(a);
    std::vector<size_t> lengths;
    const auto touchedArrays = a.arrays<int32_t>(8, &lengths);
    std::vector<std::vector<int32_t>> touched(touchedArrays.size());
    for (size_t t = 0; t < touched.size(); ++t) touched[t].assign(touchedArrays[t], touchedArrays[t] + lengths[t]);
    return numberValue(env, lane.submit([g, touched]() mutable -> int64_t {
      int64_t refetched = 0;
      for (size_t t = 0; t < g.bags.size(); ++t) {
        auto& rows = touched[t];
        std::sort(rows.begin(), rows.end());
        const BagsView& bags = g.bags[t];
        for (int64_t b = 0; b < g.layout.bags; ++b) {
          bool stale = false;
          for (int64_t p = bags.offsets[b]; p < bags.offsets[b + 1] && !stale; ++p)
            stale = std::binary_search(rows.begin(), rows.end(), bags.indices[p]);
          if (!stale) continue;
          ++refetched;
          const int32_t one[2] = {0, bags.offsets[b + 1] - bags.offsets[b]};
          const SlotLayout single{1, g.layout.dim, g.layout.stride, g.layout.slot0};
          poolBags(g.host.views[t].weights, BagsView{bags.indices + bags.offsets[b], one}, static_cast<int64_t>(t), single,
                   g.out + b * g.layout.stride, false);
        }
      }
      return refetched;
    }));
  });
}

// Arguments 0..11 as embeddingUpdate: the host rows' updates of a micro-batch, written back on the lane.
napi_value LaneUpdate(napi_env env, napi_callback_info info) {
  return guarded<13>(env, info, [&](const Args& a) {
    Lane& lane = laneArg(a, 12);
    const UpdateArgs u = readUpdateArgs(a);
    return numberValue(env, lane.submit([u]() -> int64_t {
      for (size_t t = 0; t < u.tables.views.size(); ++t)
        embeddingUpdateTable(u.tables.views[t], u.lookups.bags[t], static_cast<int64_t>(t), u.layout, u.grad, u.optimizer,
                             u.lr, u.eps);
      return 0;
    }));
  });
}

// (path, position, target): reads target.byteLength bytes of the file at position into any typed array (a data
// loader's prefetch); its count is the bytes read.
napi_value LaneRead(napi_env env, napi_callback_info info) {
  return guarded<4>(env, info, [&](const Args& a) {
    Lane& lane = laneArg(a, 3);
    const std::string path = a.text(0);
    const int64_t position = a.integer(1);
    size_t length = 0, offset = 0;
    napi_typedarray_type type;
    void* data;
    napi_value buffer;
    check(napi_get_typedarray_info(env, a[2], &type, &length, &data, &buffer, &offset), "typed array argument");
    const size_t elementBytes = type == napi_float64_array ? 8 : (type == napi_uint8_array || type == napi_int8_array) ? 1 : 4;
    uint8_t* target = static_cast<uint8_t*>(data);
    const size_t bytes = length * elementBytes;
    return numberValue(env, lane.submit([path, position, target, bytes]() -> int64_t {
      const int fd = open(path.c_str(), O_RDONLY);
      if (fd < 0) return -1;
      size_t done = 0;
      while (done < bytes) {
        const ssize_t n = pread(fd, target + done, bytes - done, static_cast<off_t>(position + done));
        if (n <= 0) break;
        done += static_cast<size_t>(n);
      }
      close(fd);
      return static_cast<int64_t>(done);
    }));
  });
}

// (job, lane) -> {startNs, endNs, count} once the job has run.
napi_value LaneWait(napi_env env, napi_callback_info info) {
  return guarded<2>(env, info, [&](const Args& a) {
    const JobResult r = laneArg(a, 1).wait(static_cast<uint64_t>(a.integer(0)));
    if (!r.error.empty()) throw JsError{r.error};
    napi_value obj;
    check(napi_create_object(env, &obj), "object");
    check(napi_set_named_property(env, obj, "startNs", numberValue(env, r.startNs)), "property");
    check(napi_set_named_property(env, obj, "endNs", numberValue(env, r.endNs)), "property");
    check(napi_set_named_property(env, obj, "count", numberValue(env, r.count)), "property");
    return obj;
  });
}

napi_value MonotonicNs(napi_env env, napi_callback_info info) {
  return guarded<0>(env, info, [&](const Args&) {
    return numberValue(env, monotonicNs());
  });
}

// (on) -> whether the check was on before.
napi_value SetBoundsCheck(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    napi_value was;
    check(napi_get_boolean(env, boundsCheck, &was), "boolean");
    boundsCheck.store(a.flag(0));
    return was;
  });
}

// (values as Int32Array, rows) -> the index of the first id outside [0, rows), or -1.
napi_value FirstIdOutOfRange(napi_env env, napi_callback_info info) {
  return guarded<2>(env, info, [&](const Args& a) {
    size_t n = 0;
    const int32_t* ids = a.array<int32_t>(0, &n);
    return numberValue(env, firstIdOutOfRange(ids, static_cast<int64_t>(n), a.integer(1)));
  });
}

template <int64_t (*Scan)(const float*, int64_t)>
napi_value FloatScan(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    size_t n = 0;
    const float* values = a.array<float>(0, &n);
    return numberValue(env, Scan(values, static_cast<int64_t>(n)));
  });
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  return guarded<1>(env, info, [&](const Args& a) {
    setPoolThreads(static_cast<int>(a.integer(0)));
    return undefinedValue(env);
  });
}

napi_value Info(napi_env env, napi_callback_info info) {
  return guarded<0>(env, info, [&](const Args&) {
    napi_value obj, gemm, threads;
    const std::string engine = gemmEngine();
    check(napi_create_object(env, &obj), "object");
    check(napi_create_string_utf8(env, engine.c_str(), engine.size(), &gemm), "string");
    check(napi_create_int32(env, pool().size(), &threads), "int");
    check(napi_set_named_property(env, obj, "gemm", gemm), "property");
    check(napi_set_named_property(env, obj, "threads", threads), "property");
    return obj;
  });
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor methods[] = {
      {"gemm", nullptr, Gemm<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"gemmOwn", nullptr, Gemm<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"biasActivation", nullptr, BiasActivation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"activationBackward", nullptr, ActivationBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"interactionDotForward", nullptr, InteractionDotForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sphereForward", nullptr, SphereForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sphereBackward", nullptr, SphereBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attendForward", nullptr, AttendForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attendBackward", nullptr, AttendBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"contextForward", nullptr, ContextForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"contextBackward", nullptr, ContextBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"interactionDotBackward", nullptr, InteractionDotBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"embeddingForward", nullptr, EmbeddingForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"embeddingUpdate", nullptr, EmbeddingUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"splitLookups", nullptr, SplitLookups, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"rowSegments", nullptr, RowSegments, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blockFileOpen", nullptr, BlockFileOpen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blockFileClose", nullptr, BlockFileClose, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blockFileSync", nullptr, BlockFileSync, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneBlockTransfer", nullptr, LaneBlockTransfer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blockTransfer", nullptr, BlockTransfer, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"uringAvailable", nullptr, UringAvailable, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"parseCriteo", nullptr, ParseCriteo, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"countKeys", nullptr, CountKeys, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createCounts", nullptr, CreateCounts, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"addCounts", nullptr, AddCounts, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"distinctCounts", nullptr, DistinctCounts, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"finishCounts", nullptr, FinishCounts, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"createVocabulary", nullptr, CreateVocabulary, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lookupVocabularies", nullptr, LookupVocabularies, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"releaseVocabularies", nullptr, ReleaseVocabularies, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"countLineEnds", nullptr, CountLineEnds, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseSgd", nullptr, DenseSgd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"denseAdagrad", nullptr, DenseAdagrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fillUniform", nullptr, FillUniform, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allocateTable", nullptr, AllocateTable, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"mapFile", nullptr, MapFile, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneOpen", nullptr, LaneOpen, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneGather", nullptr, LaneGather, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneRefetch", nullptr, LaneRefetch, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneUpdate", nullptr, LaneUpdate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneRead", nullptr, LaneRead, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"laneWait", nullptr, LaneWait, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"monotonicNs", nullptr, MonotonicNs, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setBoundsCheck", nullptr, SetBoundsCheck, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"firstIdOutOfRange", nullptr, FirstIdOutOfRange, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"firstNonFinite", nullptr, FloatScan<firstNonFinite>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"firstNotBinary", nullptr, FloatScan<firstNotBinary>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(methods) / sizeof(methods[0]), methods);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
