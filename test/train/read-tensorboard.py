"""Read a TensorBoard log folder with TensorBoard's own code and print it as JSON (used by
test/train/tensorboard.test.ts).

  records:  every event of every file, read with TensorBoard's TFRecord reader (which checks both
            masked CRC-32Cs) and parsed with its Event protobuf
  scalars:  tag -> [[step, value], ...] as TensorBoard's EventAccumulator serves them (after its
            purge of events orphaned by a restart)
  images:   tag -> [[step, width, height, first tile RGBA rows]] decoded with Pillow
"""
import base64
import io
import json
import math
import os
import sys

from PIL import Image
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow


def number(v):
    return None if math.isnan(v) else v


def records(folder):
    out = []
    for name in sorted(os.listdir(folder)):
        reader = pywrap_tensorflow.PyRecordReader_New(os.path.join(folder, name).encode())
        events = []
        while True:
            try:
                reader.GetNext()
            except Exception as e:  # OutOfRangeError at the end; DataLossError on a bad CRC
                if type(e).__name__ != 'OutOfRangeError':
                    raise
                break
            event = event_pb2.Event.FromString(reader.record())
            item = {'step': event.step, 'what': event.WhichOneof('what')}
            if item['what'] == 'file_version':
                item['file_version'] = event.file_version
            if item['what'] == 'session_log':
                item['status'] = event.session_log.status
            if item['what'] == 'summary':
                item['tags'] = [v.tag for v in event.summary.value]
            events.append(item)
        out.append({'file': name, 'events': events})
    return out


def main(folder, tile):
    acc = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0})
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [[e.step, number(e.value)] for e in acc.Scalars(t)] for t in tags['scalars']}
    images = {}
    for t in tags['images']:
        images[t] = []
        for e in acc.Images(t):
            img = Image.open(io.BytesIO(e.encoded_image_string))
            first = img.convert('RGBA').crop((0, 0, tile, tile))
            images[t].append([e.step, e.width, e.height, img.size, img.mode, base64.b64encode(first.tobytes()).decode()])
    descriptions = {t: m.summary_description for t, m in acc.summary_metadata.items() if m.summary_description}
    print(json.dumps({'records': records(folder), 'scalars': scalars, 'images': images, 'descriptions': descriptions}))


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
