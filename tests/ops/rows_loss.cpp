// Rows: the highlight model's losses, ag::mse_loss, ag::ccc_loss (1 - Lin's CCC,
// population moments) and ag::margin_ranking_loss; scalar outputs, labels without a
// gradient. Definitions: kernels/cpu/loss.h.
#include <algorithm>
#include <string>

#include "engine/autograd/loss.h"
#include "kernels/cpu/loss.h"
#include "ops/rows.h"

namespace hl::optable {

namespace {

double reference_mse(const Vec& p, const Vec& y) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] - y[i]) * (p[i] - y[i]);
  return sum / static_cast<double>(p.size());
}

double reference_ccc_loss(const Vec& p, const Vec& y) {
  const auto n = static_cast<double>(p.size());
  double mp = 0, my = 0;
  for (size_t i = 0; i < p.size(); ++i) mp += p[i], my += y[i];
  mp /= n, my /= n;
  double vp = 0, vy = 0, cov = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    vp += (p[i] - mp) * (p[i] - mp);
    vy += (y[i] - my) * (y[i] - my);
    cov += (p[i] - mp) * (y[i] - my);
  }
  vp /= n, vy /= n, cov /= n;
  return 1.0 - 2.0 * cov / (vp + vy + (mp - my) * (mp - my));
}

double reference_margin_ranking(const Vec& hi, const Vec& lo, double margin) {
  double sum = 0;
  for (size_t i = 0; i < hi.size(); ++i) sum += std::max(0.0, margin - (hi[i] - lo[i]));
  return sum / static_cast<double>(hi.size());
}

// mse and ccc: prediction and label of the same shape.
OpRow regression_row(bool ccc, std::vector<int64_t> dims) {
  OpRow r;
  r.name = std::string(ccc ? "ccc_loss_" : "mse_loss_") + dims_name(dims);
  r.inputs = {{dims, true, Fill::uniform(-1, 2)}, constant(dims, Fill::uniform(0, 1))};
  r.op = [ccc](const std::vector<ag::Variable>& v) { return ccc ? ag::ccc_loss(v[0], v[1]) : ag::mse_loss(v[0], v[1]); };
  r.reference = [ccc](const std::vector<Vec>& v) {
    return Vec{ccc ? reference_ccc_loss(v[0], v[1]) : reference_mse(v[0], v[1])};
  };
  r.kernel_f64 = [ccc](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    const auto n = static_cast<int64_t>(v[0].size());
    const double loss = ccc ? cpu::ccc_loss_forward(v[0].data(), v[1].data(), n) : cpu::mse_forward(v[0].data(), v[1].data(), n);
    if (dy) {
      *g = {Vec(v[0].size()), Vec()};
      if (ccc)
        cpu::ccc_loss_backward(v[0].data(), v[1].data(), n, (*dy)[0], (*g)[0].data());
      else
        cpu::mse_backward(v[0].data(), v[1].data(), n, (*dy)[0], (*g)[0].data());
    }
    return Vec{loss};
  };
  return r;
}

OpRow margin_row(std::vector<int64_t> dims, float margin) {
  OpRow r;
  std::string m_text = std::to_string(margin);  // "0.500000" -> "0p5"
  m_text.erase(m_text.find_last_not_of('0') + 1);
  if (m_text.back() == '.') m_text.pop_back();
  std::replace(m_text.begin(), m_text.end(), '.', 'p');
  r.name = "margin_ranking_loss_" + dims_name(dims) + "_margin" + m_text;
  r.inputs = {{dims}, {dims}};
  r.op = [margin](const std::vector<ag::Variable>& v) { return ag::margin_ranking_loss(v[0], v[1], margin); };
  const double m = margin;
  r.reference = [m](const std::vector<Vec>& v) { return Vec{reference_margin_ranking(v[0], v[1], m)}; };
  r.kernel_f64 = [m](const std::vector<Vec>& v, const Vec* dy, std::vector<Vec>* g) {
    const auto n = static_cast<int64_t>(v[0].size());
    const double loss = cpu::margin_ranking_forward(v[0].data(), v[1].data(), n, m);
    if (dy) {
      *g = {Vec(v[0].size()), Vec(v[1].size())};
      cpu::margin_ranking_backward(v[0].data(), v[1].data(), n, m, (*dy)[0], (*g)[0].data(), (*g)[1].data());
    }
    return Vec{loss};
  };
  r.cuda.grad = 0.0;  // +-dloss / n or 0 per pair on both devices
  // Each pair's gradient is 1/n of the loss's scale, and L(x +- h) rounds at ~1e-16 |L|,
  // so with many pairs a step of 1e-6 leaves ~1e-6 relative noise. The loss is piecewise
  // linear: a larger step is exact unless it crosses a hinge (no sampled pair is within
  // 1e-4 of one; a crossing would show as one element far off).
  if (numel(dims) >= 1000) r.fd_step = 1e-4;
  return r;
}

}  // namespace

void add_loss_rows(std::vector<OpRow>& rows) {
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{1}, {7}, {17}, {2, 3}, {300}, {4099}}) {
    rows.push_back(regression_row(false, dims));
    if (numel(dims) > 1) rows.push_back(regression_row(true, dims));  // one value has no variance
    rows.push_back(margin_row(dims, 1.0f));
  }
  rows.push_back(margin_row({17}, 0.5f));
}

}  // namespace hl::optable
