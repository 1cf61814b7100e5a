#!/usr/bin/env python3
"""PyTorch's image loading for ImageNet training, timed like bench/loader.ts (the same files, list
and batch size): PIL decode (Image.open + convert('RGB'), torchvision's ImageFolder loader) +
RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize(ImageNet mean / std), in a
torch DataLoader with --workers worker processes (persistent), batches of 32.
  loader:rrc224:w<N>   wall time per image of a pass over --images images (median over passes)
Without torchvision the same steps run on PIL + numpy (torchvision's get_params transcribed; the
report says "pipeline": "PIL + numpy (torchvision missing)"). Without torch: available false.

  /usr/bin/python3 bench/torch/loader.py --dir .cache/bench-images/v1 [--workers 2] [--images 320] [--reps 5]
"""
import math
import os
import random
import statistics
import time

from common import base_parser, start_torch, report

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def numpy_transform():
    """RandomResizedCrop(224) + flip + ToTensor + Normalize on PIL + numpy (torchvision 0.14's maths)."""
    import numpy as np
    from PIL import Image
    mean = np.array(MEAN, dtype=np.float32)
    std = np.array(STD, dtype=np.float32)

    def get_params(width, height, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * random.uniform(*scale)
            aspect = math.exp(random.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return random.randint(0, height - h), random.randint(0, width - w), h, w
        in_ratio = width / height
        if in_ratio < ratio[0]:
            w, h = width, int(round(width / ratio[0]))
        elif in_ratio > ratio[1]:
            h, w = height, int(round(height * ratio[1]))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def transform(img):
        top, left, h, w = get_params(*img.size)
        img = img.resize((224, 224), Image.BILINEAR, box=(left, top, left + w, top + h))
        if random.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        x = (np.asarray(img, dtype=np.float32) / 255 - mean) / std
        return np.ascontiguousarray(x.transpose(2, 0, 1))

    return transform


def main():
    p = base_parser(__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="folder of the benchmark JPEGs (bench/loader.ts makes them)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--images", type=int, default=320)
    p.add_argument("--batch", type=int, default=32)
    p.set_defaults(warmup=1)
    args = p.parse_args()
    torch, threads = start_torch(args)
    if torch is None:
        return
    from PIL import Image
    try:
        import torchvision
        from torchvision import transforms as T
        transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
        pipeline = f"torchvision {torchvision.__version__} transforms on PIL"
    except ImportError:
        transform = numpy_transform()
        pipeline = "PIL + numpy (torchvision missing)"

    files = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".jpg"))
    if not files:
        raise SystemExit(f"no .jpg files in {args.dir}; run bench/loader.ts first")
    # The same order as bench/loader.ts: size groups in BENCH_IMAGE_SIZES order, then index.
    order = ["500x375", "375x500", "640x480", "1024x768", "333x500"]
    files.sort(key=lambda f: (order.index(os.path.basename(f).split("-")[0]), f))
    items = [files[i % len(files)] for i in range(args.images)]

    class Files(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            with open(items[i], "rb") as f:
                img = Image.open(f).convert("RGB")
            return transform(img), 0

    loader = torch.utils.data.DataLoader(Files(), batch_size=args.batch, shuffle=False, num_workers=args.workers,
                                         persistent_workers=args.workers > 0)

    def one_pass():
        t0 = time.perf_counter()
        for x, _ in loader:
            pass
        return (time.perf_counter() - t0) * 1e3 / len(items)

    for _ in range(args.warmup):
        one_pass()
    runs = [one_pass() for _ in range(args.reps)]
    m = statistics.median(runs)
    figures = {f"loader:rrc224:w{args.workers}": {"median_ms": m, "min_ms": min(runs), "runs_ms": [round(r, 3) for r in runs],
                                                   "images_per_s": 1e3 / m}}
    import PIL
    report(torch, threads, figures, pipeline=pipeline, pil=PIL.__version__, workers=args.workers, images=len(items),
           batch=args.batch, warmup=args.warmup, reps=args.reps)


if __name__ == "__main__":
    main()
