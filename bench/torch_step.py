"""PyTorch twin of `pnpm bench`'s distillation step: same shapes, same losses, 2 threads.

Prints one JSON object per pair on stdout (a phase the pair does not list is null), with the
process's peak RSS: the bench runs one pair per process, so that peak is the pair's. Run by bench/distill-bench.ts when
`/usr/bin/python3 -c 'import torch'` works; never part of the tests.
"""
import json
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Layer(nn.Module):
    def __init__(self, h, heads, inter):
        super().__init__()
        self.heads, self.hd = heads, h // heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(h, inter), nn.Linear(inter, h)

    def forward(self, x, bias):
        b, s, h = x.shape
        split = lambda t: t.view(b, s, self.heads, self.hd).permute(0, 2, 1, 3)
        scores = split(self.q(x)) @ split(self.k(x)).transpose(-1, -2) / math.sqrt(self.hd) + bias
        probs = scores.softmax(-1)
        ctx = (probs @ split(self.v(x))).permute(0, 2, 1, 3).reshape(b, s, h)
        a = self.ln1(self.o(ctx) + x)
        return self.ln2(self.fc2(F.gelu(self.fc1(a))) + a), probs


class Bert(nn.Module):
    """BERT-for-sequence-classification with HF's post-LN layout and mask bias."""

    def __init__(self, layers, h, heads, vocab=30522, seq=512, labels=2):
        super().__init__()
        self.word, self.pos, self.token_type = nn.Embedding(vocab, h, padding_idx=0), nn.Embedding(seq, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, 4 * h) for _ in range(layers))
        self.pool, self.cls = nn.Linear(h, h), nn.Linear(h, labels)

    def forward(self, ids, mask):
        s = ids.shape[1]
        x = self.ln(self.word(ids) + self.pos.weight[:s] + self.token_type.weight[0])
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        hidden, atts = [x], []
        for layer in self.layers:
            x, p = layer(x, bias)
            hidden.append(x)
            atts.append(p)
        return self.cls(torch.tanh(self.pool(x[:, 0]))), hidden, atts


def distill_loss(s_out, t_out, labels, proj, T=4.0, alpha=0.5):
    (s_logits, s_h, s_a), (t_logits, t_h, t_a) = s_out, t_out
    kd = F.kl_div(F.log_softmax(s_logits / T, -1), F.softmax(t_logits / T, -1), reduction="batchmean") * T * T
    loss = alpha * kd + (1 - alpha) * F.cross_entropy(s_logits, labels)
    k = (len(t_h) - 1) // (len(s_h) - 1)
    loss = loss + sum(F.mse_loss(proj(sh), t_h[i * k]) for i, sh in enumerate(s_h)) / len(s_h)
    att = 0.0
    for j, sa in enumerate(s_a):
        ta = t_a[(j + 1) * k - 1]
        if ta.shape[1] != sa.shape[1]:
            ta = ta.mean(1, keepdim=True).expand_as(sa)
        att = att + F.mse_loss(sa, ta)
    return loss + att / len(s_a)


def median_ms(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    spec = json.loads(sys.argv[1])
    b, reps = spec["batch"], spec["reps"]
    for pair in spec["pairs"]:
        s = pair["seq"]
        (tl, th, tn), (sl, sh, sn) = pair["teacher"], pair["student"]
        teacher, student = Bert(tl, th, tn).eval(), Bert(sl, sh, sn).train()
        for p in teacher.parameters():
            p.requires_grad_(False)
        for m in student.modules():
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        # HiddenStatePlugin learns a projection only when the widths differ.
        proj = nn.Linear(sh, th) if sh != th else nn.Identity()
        opt = torch.optim.AdamW(list(student.parameters()) + list(proj.parameters()), lr=1e-4, weight_decay=0.01)
        ids = torch.randint(1, 30522, (b, s))
        mask = torch.ones(b, s, dtype=torch.long)
        labels = torch.randint(0, 2, (b,))

        def teacher_fwd():
            with torch.no_grad():
                return teacher(ids, mask)

        def student_step():
            opt.zero_grad()
            F.cross_entropy(student(ids, mask)[0], labels).backward()
            opt.step()

        def distill_step():
            t_out = teacher_fwd()
            opt.zero_grad()
            distill_loss(student(ids, mask), t_out, labels, proj).backward()
            opt.step()

        phases = pair["phases"]
        timed = lambda phase, fn: median_ms(fn, reps) if phase in phases else None
        print(json.dumps({
            "pair": pair["name"],
            "teacher_forward_ms": timed("teacherForward", teacher_fwd),
            "student_step_ms": timed("studentStep", student_step),
            "distill_step_ms": timed("distillStep", distill_step),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        }), flush=True)


if __name__ == "__main__":
    main()
