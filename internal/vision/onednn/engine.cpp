// The oneDNN side of package onednn: a list of primitives built one ONNX
// node at a time, then run in order. Activations of rank 4 are kept NHWC
// (oneDNN's fastest plain layout for these convolutions); everything else
// is row-major. Go never sees a C++ exception: every entry point catches.

#include "engine.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct tensor {
    memory::dims dims;
    memory mem;               // the activation layout of its rank
    bool is_const = false;
    std::vector<float> plain; // constants: row-major values
    memory aux;               // a buffer mem aliases, kept alive
};

struct step {
    primitive prim;
    std::unordered_map<int, memory> args;
};

tag plain_tag(size_t rank) {
    switch (rank) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    }
    throw std::runtime_error("tensors of rank " + std::to_string(rank) + " are not supported");
}

tag act_tag(size_t rank) { return rank == 4 ? tag::acdb : plain_tag(rank); }

int64_t volume(const memory::dims &d) {
    int64_t v = 1;
    for (auto x : d) v *= x;
    return v;
}

template <class F> char *guard(F f) {
    try {
        f();
        return nullptr;
    } catch (const dnnl::error &e) {
        return strdup((std::string("onednn: ") + e.what() + " (status " +
                       std::to_string(int(e.status)) + ")").c_str());
    } catch (const std::exception &e) {
        return strdup(e.what());
    } catch (...) {
        return strdup("unknown C++ exception");
    }
}

} // namespace

struct lnd_net {
    engine eng{engine::kind::cpu, 0};
    stream strm{eng};
    std::vector<tensor> ts;
    std::vector<step> steps;
    std::unordered_map<int, memory> user_in, user_out;
    std::unordered_map<int, primitive> reorder_in, reorder_out;

    tensor &get(int id) {
        if (id < 0 || size_t(id) >= ts.size()) throw std::runtime_error("no tensor " + std::to_string(id));
        return ts[id];
    }
    tensor &get_const(int id) {
        tensor &t = get(id);
        if (!t.is_const) throw std::runtime_error("tensor " + std::to_string(id) + " is not a constant");
        return t;
    }
    int add(tensor t) {
        ts.push_back(std::move(t));
        return int(ts.size() - 1);
    }
    // act makes a zero-filled activation of dims.
    tensor act(const memory::dims &dims) {
        for (auto d : dims)
            if (d <= 0) throw std::runtime_error("a tensor dimension is not positive");
        tensor t;
        t.dims = dims;
        t.mem = memory(memory::desc(dims, dt::f32, act_tag(dims.size())), eng);
        std::memset(t.mem.get_data_handle(), 0, t.mem.get_desc().get_size());
        return t;
    }
    void copy(memory &from, memory &to) {
        reorder(from, to).execute(strm, from, to);
        strm.wait();
    }
    // plain_mem views a constant's values with the given dims and tag.
    memory plain_mem(tensor &t, const memory::dims &dims, tag tg) {
        if (volume(dims) != int64_t(t.plain.size())) throw std::runtime_error("constant has the wrong size");
        return memory(memory::desc(dims, dt::f32, tg), eng, t.plain.data());
    }
};

static memory::dims to_dims(int rank, const int64_t *dims) {
    if (rank < 1 || rank > 5) throw std::runtime_error("rank " + std::to_string(rank) + " is not supported");
    return memory::dims(dims, dims + rank);
}

static primitive_attr relu_attr(int relu, bool sum = false, bool prelu = false) {
    primitive_attr attr;
    post_ops po;
    if (sum) po.append_sum(1.f);
    if (relu) po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    if (prelu) po.append_prelu(1 << 1); // one slope per channel (dim 1)
    attr.set_post_ops(po);
    return attr;
}

// prelu_weights copies a per-channel slope constant into the plain
// {1, C, 1, ...} buffer oneDNN's PReLU (primitive or post-op) reads.
static memory prelu_weights(lnd_net *n, int slope, const memory::dims &act) {
    tensor &s = n->get_const(slope);
    if (act.size() < 2 || int64_t(s.plain.size()) != act[1])
        throw std::runtime_error("prelu slope does not have one value per channel");
    memory::dims wd(act.size(), 1);
    wd[1] = act[1];
    memory m(memory::desc(wd, dt::f32, act_tag(wd.size())), n->eng);
    std::memcpy(m.get_data_handle(), s.plain.data(), s.plain.size() * sizeof(float));
    return m;
}

// prelu appends a PReLU step; in_place writes over src's buffer (for a conv
// result nothing else reads), saving a pass over memory.
static void prelu_step(lnd_net *n, int src, int slope, bool in_place, int *id) {
    tensor &s = n->get(src);
    memory w = prelu_weights(n, slope, s.dims);
    tensor out;
    if (in_place) {
        out.dims = s.dims;
        out.mem = s.mem;
    } else {
        out = n->act(s.dims);
    }
    prelu_forward::desc d(prop_kind::forward_inference, s.mem.get_desc(), w.get_desc());
    prelu_forward::primitive_desc pd(d, n->eng);
    n->steps.push_back({prelu_forward(pd), {{DNNL_ARG_SRC, s.mem}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, out.mem}}});
    *id = n->add(std::move(out));
}

extern "C" {

char *lnd_new(lnd_net **out) {
    *out = nullptr;
    return guard([&] { *out = new lnd_net(); });
}

void lnd_free(lnd_net *n) { delete n; }

char *lnd_input(lnd_net *n, int rank, const int64_t *dims, int *id) {
    return guard([&] { *id = n->add(n->act(to_dims(rank, dims))); });
}

char *lnd_const(lnd_net *n, int rank, const int64_t *dims, const float *data, int *id) {
    return guard([&] {
        tensor t = n->act(to_dims(rank, dims));
        t.is_const = true;
        t.plain.assign(data, data + volume(t.dims));
        memory src = n->plain_mem(t, t.dims, plain_tag(t.dims.size()));
        n->copy(src, t.mem);
        *id = n->add(std::move(t));
    });
}

char *lnd_conv(lnd_net *n, int src, int weights, int bias, const int64_t *strides, const int64_t *pads,
               const int64_t *dilations, int64_t group, int relu, int prelu, int sum_into, int *id) {
    return guard([&] {
        if (relu && prelu >= 0) throw std::runtime_error("conv with both relu and prelu");
        tensor &s = n->get(src);
        tensor &w = n->get_const(weights);
        if (s.dims.size() != 4 || w.dims.size() != 4 || group < 1 || w.dims[1] * group != s.dims[1] ||
            w.dims[0] % group != 0)
            throw std::runtime_error("conv wants NCHW input and OIHW weights of its channels");
        // Grouped weights are GOIHW: the same values, one more dimension.
        memory::dims wd = w.dims;
        tag wtag = tag::abcd;
        if (group > 1) {
            wd = {group, w.dims[0] / group, w.dims[1], w.dims[2], w.dims[3]};
            wtag = tag::abcde;
        }
        memory::dims st{strides[0], strides[1]}, dil{dilations[0] - 1, dilations[1] - 1};
        memory::dims pl{pads[0], pads[1]}, pr{pads[2], pads[3]};
        memory::dims od{s.dims[0], w.dims[0], 0, 0};
        for (int i = 0; i < 2; i++) {
            int64_t span = dilations[i] * (w.dims[2 + i] - 1) + 1;
            od[2 + i] = (s.dims[2 + i] + pads[i] + pads[i + 2] - span) / strides[i] + 1;
        }
        tensor out;
        int add_after = -1; // accumulate by a separate Add when in place is not possible
        if (sum_into >= 0) {
            // Residual: add the result into sum_into's buffer, in place.
            tensor &acc = n->get(sum_into);
            if (acc.dims != od) throw std::runtime_error("residual shapes differ");
            if (acc.is_const || acc.mem.get_desc() != memory::desc(od, dt::f32, act_tag(od.size()))) {
                add_after = sum_into;
                sum_into = -1;
                out = n->act(od);
            } else {
                out.dims = od;
                out.mem = acc.mem;
            }
        } else {
            out = n->act(od);
        }
        memory::desc wmd(wd, dt::f32, tag::any);
        memory::desc bmd({w.dims[0]}, dt::f32, tag::a);
        auto d = bias >= 0 ? convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                                       s.mem.get_desc(), wmd, bmd, out.mem.get_desc(), st, dil, pl, pr)
                           : convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                                       s.mem.get_desc(), wmd, out.mem.get_desc(), st, dil, pl, pr);
        // PReLU as a post-op only where oneDNN has an optimised kernel for
        // it: oneDNN 2.6 on AVX2 runs every conv with a prelu post-op in its
        // reference implementation (measured 1.5 s instead of 7 ms for
        // MobileFaceNet), so then the PReLU is a step of its own.
        bool fuse_prelu = prelu >= 0 && add_after < 0;
        convolution_forward::primitive_desc pd(d, relu_attr(relu && add_after < 0, sum_into >= 0, fuse_prelu), n->eng);
        if (fuse_prelu && std::string(pd.impl_info_str()).rfind("ref", 0) == 0) {
            fuse_prelu = false;
            pd = convolution_forward::primitive_desc(d, relu_attr(0, sum_into >= 0), n->eng);
        }
        memory wm(pd.weights_desc(), n->eng);
        memory wp = n->plain_mem(w, wd, wtag);
        n->copy(wp, wm);
        step stp{convolution_forward(pd), {{DNNL_ARG_SRC, s.mem}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, out.mem}}};
        if (bias >= 0) {
            tensor &b = n->get_const(bias);
            if (b.dims != memory::dims{w.dims[0]}) throw std::runtime_error("conv bias does not match its filters");
            memory bm(bmd, n->eng);
            std::memcpy(bm.get_data_handle(), b.plain.data(), b.plain.size() * sizeof(float));
            stp.args[DNNL_ARG_BIAS] = bm;
        }
        if (fuse_prelu) {
            int idx = sum_into >= 0 ? 1 : 0; // the post-op's place after a sum
            stp.args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx) | DNNL_ARG_WEIGHTS] = prelu_weights(n, prelu, od);
        }
        n->steps.push_back(std::move(stp));
        *id = n->add(std::move(out));
        char *e = nullptr;
        if (add_after >= 0) {
            int conv_id = *id;
            e = lnd_binary(n, LND_ADD, conv_id, add_after, relu, id);
        }
        if (e) {
            std::string msg(e);
            free(e);
            throw std::runtime_error(msg);
        }
        if (prelu >= 0 && !fuse_prelu) {
            int pre = *id;
            // the conv's (or its separate Add's) result is read only by this PReLU
            prelu_step(n, pre, prelu, true, id);
        }
    });
}

static void pool(lnd_net *n, int src, algorithm alg, memory::dims kernel, memory::dims st, memory::dims pl,
                 memory::dims pr, int *id) {
    tensor &s = n->get(src);
    if (s.dims.size() != 4) throw std::runtime_error("pooling wants an NCHW input");
    memory::dims od{s.dims[0], s.dims[1], 0, 0};
    for (int i = 0; i < 2; i++) od[2 + i] = (s.dims[2 + i] + pl[i] + pr[i] - kernel[i]) / st[i] + 1;
    tensor out = n->act(od);
    pooling_forward::desc d(prop_kind::forward_inference, alg, s.mem.get_desc(), out.mem.get_desc(), st, kernel, pl,
                            pr);
    pooling_forward::primitive_desc pd(d, n->eng);
    n->steps.push_back({pooling_forward(pd), {{DNNL_ARG_SRC, s.mem}, {DNNL_ARG_DST, out.mem}}});
    *id = n->add(std::move(out));
}

char *lnd_pool(lnd_net *n, int src, int kind, const int64_t *kernel, const int64_t *strides, const int64_t *pads,
               int *id) {
    return guard([&] {
        algorithm alg;
        switch (kind) {
        case LND_POOL_MAX: alg = algorithm::pooling_max; break;
        case LND_POOL_AVG_EXCLUDE: alg = algorithm::pooling_avg_exclude_padding; break;
        case LND_POOL_AVG_INCLUDE: alg = algorithm::pooling_avg_include_padding; break;
        default: throw std::runtime_error("unknown pooling kind");
        }
        pool(n, src, alg, {kernel[0], kernel[1]}, {strides[0], strides[1]}, {pads[0], pads[1]}, {pads[2], pads[3]},
             id);
    });
}

char *lnd_global_avg_pool(lnd_net *n, int src, int *id) {
    return guard([&] {
        tensor &s = n->get(src);
        if (s.dims.size() != 4) throw std::runtime_error("global pooling wants an NCHW input");
        pool(n, src, algorithm::pooling_avg_exclude_padding, {s.dims[2], s.dims[3]}, {1, 1}, {0, 0}, {0, 0}, id);
    });
}

char *lnd_pad(lnd_net *n, int src, const int64_t *pads, int *id) {
    return guard([&] {
        tensor &s = n->get(src);
        size_t r = s.dims.size();
        memory::dims od = s.dims, off(r);
        for (size_t i = 0; i < r; i++) {
            if (pads[i] < 0 || pads[i + r] < 0) throw std::runtime_error("negative padding");
            od[i] += pads[i] + pads[i + r];
            off[i] = pads[i];
        }
        tensor out = n->act(od); // zero-filled once; only the interior is ever written
        memory sub(out.mem.get_desc().submemory_desc(s.dims, off), n->eng, out.mem.get_data_handle());
        n->steps.push_back({reorder(s.mem, sub), {{DNNL_ARG_FROM, s.mem}, {DNNL_ARG_TO, sub}}});
        *id = n->add(std::move(out));
    });
}

char *lnd_binary(lnd_net *n, int kind, int a, int b, int relu, int *id) {
    return guard([&] {
        algorithm alg;
        switch (kind) {
        case LND_ADD: alg = algorithm::binary_add; break;
        case LND_SUB: alg = algorithm::binary_sub; break;
        case LND_DIV: alg = algorithm::binary_div; break;
        default: throw std::runtime_error("unknown binary operator");
        }
        tensor &x = n->get(a);
        tensor &y = n->get(b);
        memory ym = y.mem;
        if (y.dims != x.dims) {
            // A constant broadcast onto x: give it x's rank and layout.
            if (!y.is_const || y.dims.size() > x.dims.size())
                throw std::runtime_error("binary operands differ and the second is not a broadcast constant");
            memory::dims bd(x.dims.size() - y.dims.size(), 1);
            bd.insert(bd.end(), y.dims.begin(), y.dims.end());
            for (size_t i = 0; i < bd.size(); i++)
                if (bd[i] != 1 && bd[i] != x.dims[i]) throw std::runtime_error("constant does not broadcast");
            ym = memory(memory::desc(bd, dt::f32, act_tag(bd.size())), n->eng);
            memory yp = n->plain_mem(y, bd, plain_tag(bd.size()));
            n->copy(yp, ym);
        }
        tensor out = n->act(x.dims);
        binary::desc d(alg, x.mem.get_desc(), ym.get_desc(), out.mem.get_desc());
        binary::primitive_desc pd(d, relu_attr(relu), n->eng);
        n->steps.push_back(
            {binary(pd), {{DNNL_ARG_SRC_0, x.mem}, {DNNL_ARG_SRC_1, ym}, {DNNL_ARG_DST, out.mem}}});
        *id = n->add(std::move(out));
    });
}

char *lnd_relu(lnd_net *n, int src, int *id) {
    return guard([&] {
        tensor &s = n->get(src);
        tensor out = n->act(s.dims);
        eltwise_forward::desc d(prop_kind::forward_inference, algorithm::eltwise_relu, s.mem.get_desc(), 0.f, 0.f);
        eltwise_forward::primitive_desc pd(d, n->eng);
        n->steps.push_back({eltwise_forward(pd), {{DNNL_ARG_SRC, s.mem}, {DNNL_ARG_DST, out.mem}}});
        *id = n->add(std::move(out));
    });
}

char *lnd_prelu(lnd_net *n, int src, int slope, int *id) {
    return guard([&] { prelu_step(n, src, slope, false, id); });
}

char *lnd_reshape(lnd_net *n, int src, int rank, const int64_t *dims, int *id) {
    return guard([&] {
        tensor &s = n->get(src);
        tensor out;
        out.dims = to_dims(rank, dims);
        if (volume(out.dims) != volume(s.dims)) throw std::runtime_error("reshape changes the number of values");
        // Row-major copy of the source, seen with the new dims.
        out.aux = memory(memory::desc(s.dims, dt::f32, plain_tag(s.dims.size())), n->eng);
        out.mem = memory(memory::desc(out.dims, dt::f32, plain_tag(out.dims.size())), n->eng, out.aux.get_data_handle());
        n->steps.push_back({reorder(s.mem, out.aux), {{DNNL_ARG_FROM, s.mem}, {DNNL_ARG_TO, out.aux}}});
        *id = n->add(std::move(out));
    });
}

char *lnd_transpose(lnd_net *n, int src, const int64_t *perm, int *id) {
    return guard([&] {
        tensor &s = n->get(src);
        size_t r = s.dims.size();
        memory::dims od(r);
        std::vector<bool> seen(r);
        for (size_t i = 0; i < r; i++) {
            if (perm[i] < 0 || size_t(perm[i]) >= r || seen[perm[i]]) throw std::runtime_error("not a permutation");
            seen[perm[i]] = true;
            od[i] = s.dims[perm[i]];
        }
        tensor out = n->act(od);
        // out[j] = in[k] with k[perm[i]] = j[i]: the output buffer seen in the
        // input's index space has stride out_stride[i] on input axis perm[i].
        const auto &blk = out.mem.get_desc().data.format_desc.blocking;
        if (blk.inner_nblks != 0) throw std::runtime_error("blocked layout");
        memory::dims vs(r);
        for (size_t i = 0; i < r; i++) vs[perm[i]] = blk.strides[i];
        memory view(memory::desc(s.dims, dt::f32, vs), n->eng, out.mem.get_data_handle());
        n->steps.push_back({reorder(s.mem, view), {{DNNL_ARG_FROM, s.mem}, {DNNL_ARG_TO, view}}});
        *id = n->add(std::move(out));
    });
}

char *lnd_concat(lnd_net *n, int count, const int *srcs, int64_t axis, int *id) {
    return guard([&] {
        if (count < 1) throw std::runtime_error("concat of nothing");
        memory::dims od = n->get(srcs[0]).dims;
        if (axis < 0 || size_t(axis) >= od.size()) throw std::runtime_error("concat axis out of range");
        od[axis] = 0;
        std::vector<memory::desc> mds;
        std::vector<memory> mems;
        for (int i = 0; i < count; i++) {
            tensor &s = n->get(srcs[i]);
            if (s.dims.size() != od.size()) throw std::runtime_error("concat inputs differ in rank");
            for (size_t k = 0; k < od.size(); k++)
                if (int64_t(k) != axis && s.dims[k] != od[k]) throw std::runtime_error("concat inputs differ off the axis");
            od[axis] += s.dims[axis];
            mds.push_back(s.mem.get_desc());
            mems.push_back(s.mem);
        }
        tensor out = n->act(od);
        concat::primitive_desc pd(out.mem.get_desc(), int(axis), mds, n->eng);
        step stp{concat(pd), {{DNNL_ARG_DST, out.mem}}};
        for (int i = 0; i < count; i++) stp.args[DNNL_ARG_MULTIPLE_SRC + i] = mems[i];
        n->steps.push_back(std::move(stp));
        *id = n->add(std::move(out));
    });
}

char *lnd_gemm(lnd_net *n, int a, int b, int trans_b, int c, int relu, int *id) {
    return guard([&] {
        tensor &x = n->get(a);
        tensor &w = n->get_const(b);
        if (x.dims.size() != 2 || w.dims.size() != 2) throw std::runtime_error("gemm wants 2-D operands");
        int64_t k = trans_b ? w.dims[1] : w.dims[0], outn = trans_b ? w.dims[0] : w.dims[1];
        if (k != x.dims[1]) throw std::runtime_error("gemm operands do not fit");
        tensor out = n->act({x.dims[0], outn});
        memory::desc wmd({k, outn}, dt::f32, tag::any);
        memory::desc bmd({1, outn}, dt::f32, tag::ab);
        auto d = c >= 0 ? matmul::desc(x.mem.get_desc(), wmd, bmd, out.mem.get_desc())
                        : matmul::desc(x.mem.get_desc(), wmd, out.mem.get_desc());
        matmul::primitive_desc pd(d, relu_attr(relu), n->eng);
        memory wm(pd.weights_desc(), n->eng);
        memory wp = n->plain_mem(w, {k, outn}, trans_b ? tag::ba : tag::ab);
        n->copy(wp, wm);
        step stp{matmul(pd), {{DNNL_ARG_SRC, x.mem}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, out.mem}}};
        if (c >= 0) {
            tensor &bias = n->get_const(c);
            if (bias.dims != memory::dims{outn}) throw std::runtime_error("gemm bias does not match its output");
            memory bm(bmd, n->eng);
            std::memcpy(bm.get_data_handle(), bias.plain.data(), bias.plain.size() * sizeof(float));
            stp.args[DNNL_ARG_BIAS] = bm;
        }
        n->steps.push_back(std::move(stp));
        *id = n->add(std::move(out));
    });
}

char *lnd_steps(lnd_net *n, int *count) {
    return guard([&] { *count = int(n->steps.size()); });
}

char *lnd_dims(lnd_net *n, int id, int *rank, int64_t *dims) {
    return guard([&] {
        tensor &t = n->get(id);
        *rank = int(t.dims.size());
        for (size_t i = 0; i < t.dims.size(); i++) dims[i] = t.dims[i];
    });
}

char *lnd_run(lnd_net *n, int in, const float *data, int64_t in_len, int nout, const int *outs, float *dst,
              int64_t dst_len) {
    return guard([&] {
        tensor &ti = n->get(in);
        int64_t total = 0;
        for (int i = 0; i < nout; i++) total += volume(n->get(outs[i]).dims);
        if (in_len != volume(ti.dims) || dst_len != total) throw std::runtime_error("buffer sizes differ from the net's");
        if (!n->user_in.count(in)) {
            memory u(memory::desc(ti.dims, dt::f32, plain_tag(ti.dims.size())), n->eng, nullptr);
            n->reorder_in[in] = reorder(u, ti.mem);
            n->user_in[in] = u;
        }
        for (int i = 0; i < nout; i++) {
            tensor &to = n->get(outs[i]);
            if (!n->user_out.count(outs[i])) {
                memory u(memory::desc(to.dims, dt::f32, plain_tag(to.dims.size())), n->eng, nullptr);
                n->reorder_out[outs[i]] = reorder(to.mem, u);
                n->user_out[outs[i]] = u;
            }
        }
        // Neither caller pointer outlives this call.
        struct unset {
            lnd_net *n;
            ~unset() {
                for (auto &kv : n->user_in) kv.second.set_data_handle(nullptr);
                for (auto &kv : n->user_out) kv.second.set_data_handle(nullptr);
            }
        } guard_handles{n};
        memory &ui = n->user_in[in];
        ui.set_data_handle(const_cast<float *>(data));
        n->reorder_in[in].execute(n->strm, {{DNNL_ARG_FROM, ui}, {DNNL_ARG_TO, ti.mem}});
        for (auto &s : n->steps) s.prim.execute(n->strm, s.args);
        int64_t off = 0;
        for (int i = 0; i < nout; i++) {
            tensor &to = n->get(outs[i]);
            memory &uo = n->user_out[outs[i]];
            uo.set_data_handle(dst + off);
            n->reorder_out[outs[i]].execute(n->strm, {{DNNL_ARG_FROM, to.mem}, {DNNL_ARG_TO, uo}});
            off += volume(to.dims);
        }
        n->strm.wait();
    });
}

} // extern "C"
