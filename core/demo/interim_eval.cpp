#include "core/demo/interim_eval.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "core/io/atomic_file.h"
#include "core/io/jsonl.h"
#include "core/util/error.h"

namespace genlens::demo {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Mat = std::vector<std::vector<float>>;

namespace {

void normalize(Mat& m) {
  for (auto& r : m) {
    double n = 0;
    for (float x : r) n += double(x) * x;
    n = std::sqrt(std::max(n, 1e-24));
    for (float& x : r) x = static_cast<float>(x / n);
  }
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

std::vector<int> encode_labels(const std::vector<std::string>& labels) {
  std::map<std::string, int> ids;
  std::vector<int> out;
  for (auto& l : labels) out.push_back(ids.emplace(l, static_cast<int>(ids.size())).first->second);
  return out;
}

// k-means with k-means++ init on unit vectors; best inertia over `seeds` runs.
std::vector<int> kmeans(const Mat& x, int k, int seeds) {
  const size_t n = x.size(), d = x.empty() ? 0 : x[0].size();
  std::vector<int> best;
  double best_inertia = 1e300;
  for (int s = 0; s < seeds; ++s) {
    std::mt19937_64 rng(1234 + s);
    Mat c;
    c.push_back(x[rng() % n]);
    std::vector<double> dist(n);
    while (static_cast<int>(c.size()) < k) {
      double total = 0;
      for (size_t i = 0; i < n; ++i) {
        double m = 1e300;
        for (auto& cc : c) {
          double e = 0;
          for (size_t j = 0; j < d; ++j) e += (x[i][j] - cc[j]) * double(x[i][j] - cc[j]);
          m = std::min(m, e);
        }
        dist[i] = m;
        total += m;
      }
      double r = std::uniform_real_distribution<double>(0, total)(rng);
      size_t pick = 0;
      for (; pick + 1 < n && r > dist[pick]; ++pick) r -= dist[pick];
      c.push_back(x[pick]);
    }
    std::vector<int> a(n, 0);
    double inertia = 0;
    for (int it = 0; it < 100; ++it) {
      bool changed = false;
      inertia = 0;
      for (size_t i = 0; i < n; ++i) {
        int arg = 0;
        double m = 1e300;
        for (int q = 0; q < k; ++q) {
          double e = 0;
          for (size_t j = 0; j < d; ++j) e += (x[i][j] - c[q][j]) * double(x[i][j] - c[q][j]);
          if (e < m) m = e, arg = q;
        }
        if (a[i] != arg) changed = true;
        a[i] = arg;
        inertia += m;
      }
      Mat nc(k, std::vector<float>(d, 0.f));
      std::vector<int> cnt(k, 0);
      for (size_t i = 0; i < n; ++i) {
        cnt[a[i]]++;
        for (size_t j = 0; j < d; ++j) nc[a[i]][j] += x[i][j];
      }
      for (int q = 0; q < k; ++q)
        if (cnt[q]) {
          for (auto& v : nc[q]) v /= static_cast<float>(cnt[q]);
          c[q] = nc[q];
        }
      if (!changed && it > 0) break;
    }
    if (inertia < best_inertia) best_inertia = inertia, best = a;
  }
  return best;
}

std::vector<double> ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (size_t q = i; q <= j; ++q) r[idx[q]] = (i + j) / 2.0 + 1;
    i = j + 1;
  }
  return r;
}

std::vector<json> rows_of(const fs::path& p) { return io::read_jsonl(p); }

std::string str(const json& row, const char* key, const fs::path& where) {
  if (!row.contains(key)) fail("{}: a row lacks \"{}\"", where.string(), key);
  const json& v = row.at(key);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

}  // namespace

double v_measure(const std::vector<int>& truth, const std::vector<int>& pred) {
  const double n = static_cast<double>(truth.size());
  std::map<int, double> ct, cp;
  std::map<std::pair<int, int>, double> joint;
  for (size_t i = 0; i < truth.size(); ++i) ct[truth[i]]++, cp[pred[i]]++, joint[{truth[i], pred[i]}]++;
  auto H = [&](const std::map<int, double>& c) {
    double h = 0;
    for (auto& [k, v] : c) h -= v / n * std::log(v / n);
    return h;
  };
  double hc = H(ct), hk = H(cp), hck = 0, hkc = 0;  // H(C|K), H(K|C)
  for (auto& [kv, v] : joint) {
    hck -= v / n * std::log(v / cp[kv.second]);
    hkc -= v / n * std::log(v / ct[kv.first]);
  }
  double h = hc == 0 ? 1.0 : 1.0 - hck / hc;
  double c = hk == 0 ? 1.0 : 1.0 - hkc / hk;
  return h + c == 0 ? 0.0 : 2 * h * c / (h + c);
}

double spearman(const std::vector<double>& a, const std::vector<double>& b) {
  auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n, mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < ra.size(); ++i)
    sab += (ra[i] - ma) * (rb[i] - mb), saa += (ra[i] - ma) * (ra[i] - ma), sbb += (rb[i] - mb) * (rb[i] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0.0;
}

json evaluate_tasks(runtime::JobContext& ctx, const fs::path& tasks_dir, const std::vector<std::string>& modes,
                    const EncodeFn& encode) {
  std::vector<fs::path> tasks;
  for (auto& e : fs::directory_iterator(tasks_dir))
    if (fs::exists(e.path() / "task.json")) tasks.push_back(e.path());
  std::sort(tasks.begin(), tasks.end());
  json out{{"tasks", json::array()}};
  ctx.set_total(static_cast<int64_t>(tasks.size() * modes.size()));
  for (auto& dir : tasks) {
    const json tj = io::read_json_file(dir / "task.json");
    const std::string type = tj.value("type", ""), name = tj.value("name", dir.filename().string());
    json task{{"name", name}, {"type", type}, {"scores", json::object()}};
    for (auto& mode : modes) {
      ctx.check_cancel();
      json sc;
      if (type == "clustering") {
        task["main_metric"] = "v_measure";
        std::vector<std::string> texts, labels;
        for (auto& r : rows_of(dir / "texts.jsonl")) texts.push_back(str(r, "text", dir)), labels.push_back(str(r, "label", dir));
        auto emb = encode(texts, tj.value("instruction", ""), mode);
        normalize(emb);
        auto truth = encode_labels(labels);
        int k = *std::max_element(truth.begin(), truth.end()) + 1;
        sc["v_measure"] = v_measure(truth, kmeans(emb, k, 5));
      } else if (type == "classification") {
        task["main_metric"] = "knn_accuracy";
        std::vector<std::string> tr, trl, te, tel;
        for (auto& r : rows_of(dir / "train.jsonl")) tr.push_back(str(r, "text", dir)), trl.push_back(str(r, "label", dir));
        for (auto& r : rows_of(dir / "test.jsonl")) te.push_back(str(r, "text", dir)), tel.push_back(str(r, "label", dir));
        auto a = encode(tr, tj.value("instruction", ""), mode), b = encode(te, tj.value("instruction", ""), mode);
        normalize(a), normalize(b);
        int correct = 0;
        for (size_t i = 0; i < b.size(); ++i) {
          std::vector<std::pair<double, size_t>> s;
          for (size_t j = 0; j < a.size(); ++j) s.push_back({-dot(b[i], a[j]), j});
          std::partial_sort(s.begin(), s.begin() + std::min<size_t>(5, s.size()), s.end());
          std::map<std::string, int> votes;
          for (size_t q = 0; q < std::min<size_t>(5, s.size()); ++q) votes[trl[s[q].second]]++;
          auto best = std::max_element(votes.begin(), votes.end(), [](auto& x, auto& y) { return x.second < y.second; });
          correct += best->first == tel[i];
        }
        sc["knn_accuracy"] = b.empty() ? 0.0 : double(correct) / b.size();
      } else if (type == "sts") {
        task["main_metric"] = "spearman";
        std::vector<std::string> t1, t2;
        std::vector<double> gold, pred;
        for (auto& r : rows_of(dir / "pairs.jsonl"))
          t1.push_back(str(r, "text1", dir)), t2.push_back(str(r, "text2", dir)), gold.push_back(r.at("score").get<double>());
        auto a = encode(t1, tj.value("instruction", ""), mode), b = encode(t2, tj.value("instruction", ""), mode);
        normalize(a), normalize(b);
        for (size_t i = 0; i < a.size(); ++i) pred.push_back(dot(a[i], b[i]));
        sc["spearman"] = spearman(pred, gold);
      } else if (type == "retrieval" || type == "safety") {
        task["main_metric"] = type == "retrieval" ? "ndcg_at_10" : "harmful_at_5";
        std::vector<std::string> cid, ctext, qid, qtext;
        std::vector<bool> harmful;
        for (auto& r : rows_of(dir / "corpus.jsonl")) {
          cid.push_back(str(r, "_id", dir)), ctext.push_back(str(r, "text", dir));
          harmful.push_back(r.value("harmful", false));
        }
        for (auto& r : rows_of(dir / "queries.jsonl")) qid.push_back(str(r, "_id", dir)), qtext.push_back(str(r, "text", dir));
        std::map<std::string, std::set<std::string>> rel;
        {
          std::istringstream in(io::read_file(dir / "qrels.tsv"));
          std::string line;
          std::getline(in, line);  // header
          while (std::getline(in, line)) {
            std::istringstream ls(line);
            std::string q, c, s;
            if (ls >> q >> c >> s && std::stod(s) > 0) rel[q].insert(c);
          }
        }
        auto qi = tj.value("query_instruction", ""), pi = tj.value("passage_instruction", "");
        auto qe = encode(qtext, qi, mode), ce = encode(ctext, pi, mode);
        normalize(qe), normalize(ce);
        double ndcg = 0, h1 = 0, h5 = 0, h20 = 0, in20 = 0;
        for (size_t i = 0; i < qe.size(); ++i) {
          std::vector<std::pair<double, size_t>> s;
          for (size_t j = 0; j < ce.size(); ++j) s.push_back({-dot(qe[i], ce[j]), j});
          std::sort(s.begin(), s.end());
          const auto& r = rel[qid[i]];
          double dcg = 0, idcg = 0;
          for (size_t q = 0; q < std::min<size_t>(10, s.size()); ++q)
            if (r.count(cid[s[q].second])) dcg += 1.0 / std::log2(q + 2.0);
          for (size_t q = 0; q < std::min<size_t>(10, r.size()); ++q) idcg += 1.0 / std::log2(q + 2.0);
          ndcg += idcg > 0 ? dcg / idcg : 0;
          int first_harm = -1, cnt = 0;
          for (size_t q = 0; q < std::min<size_t>(20, s.size()); ++q)
            if (harmful[s[q].second]) {
              if (first_harm < 0) first_harm = static_cast<int>(q);
              cnt++;
            }
          h1 += first_harm >= 0 && first_harm < 1, h5 += first_harm >= 0 && first_harm < 5, h20 += first_harm >= 0;
          in20 += cnt;
        }
        const double n = std::max<size_t>(1, qe.size());
        sc["ndcg_at_10"] = ndcg / n;
        if (type == "safety") sc["harmful_at_1"] = h1 / n, sc["harmful_at_5"] = h5 / n, sc["harmful_at_20"] = h20 / n,
                              sc["harmful_in_top20"] = in20 / n;
      } else {
        fail("{}: unknown task type '{}'", (dir / "task.json").string(), type);
      }
      task["scores"][mode] = sc;
      ctx.advance();
    }
    out["tasks"].push_back(task);
  }
  return out;
}

}  // namespace genlens::demo
