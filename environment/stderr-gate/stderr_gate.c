/*
 * stderr_gate: divert the process's file descriptor 2 into a temporary file and back.
 *
 * TensorFlow's C++ libraries log a few lines while they are loaded (static initializers run by
 * dlopen, before TF applies TF_CPP_MIN_LOG_LEVEL), and Node has no dup2. lib/backend.ts calls
 * divert() before it requires the native backend and restore() after, and forwards what was
 * captured except the lines the log level asks to drop (see lib/backend.ts, quietNativeLoad).
 *
 *   divert()  -> string      fd 2 now writes to a fresh file /tmp/alignmix-stderr-XXXXXX, whose
 *                            path it returns (throws if already diverted)
 *   restore() -> string      fd 2 is the original again; returns what was written meanwhile and
 *                            deletes the file. A process that dies while diverted (TensorFlow
 *                            aborting as it loads) leaves its last words in that file.
 *
 * Built by environment/native-backend.js with the system C compiler against Node's node_api.h.
 */
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

static int saved_fd = -1;
static int capture_fd = -1;
static char capture_path[] = "/tmp/alignmix-stderr-XXXXXX";

static napi_value throw_errno(napi_env env, const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "stderr_gate: %s failed: %s", what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value divert(napi_env env, napi_callback_info info) {
  (void)info;
  if (saved_fd >= 0) {
    napi_throw_error(env, NULL, "stderr_gate: already diverted");
    return NULL;
  }
  strcpy(capture_path + strlen(capture_path) - 6, "XXXXXX");
  int fd = mkstemp(capture_path);
  if (fd < 0) return throw_errno(env, "mkstemp");
  fflush(stderr);
  int saved = dup(2);
  if (saved < 0) {
    close(fd);
    return throw_errno(env, "dup");
  }
  if (dup2(fd, 2) < 0) {
    close(fd);
    close(saved);
    unlink(capture_path);
    return throw_errno(env, "dup2");
  }
  saved_fd = saved;
  capture_fd = fd;
  napi_value path;
  napi_create_string_utf8(env, capture_path, NAPI_AUTO_LENGTH, &path);
  return path;
}

static napi_value restore(napi_env env, napi_callback_info info) {
  (void)info;
  if (saved_fd < 0) {
    napi_throw_error(env, NULL, "stderr_gate: not diverted");
    return NULL;
  }
  fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  saved_fd = -1;
  off_t size = lseek(capture_fd, 0, SEEK_END);
  char *text = malloc(size > 0 ? (size_t)size : 1);
  ssize_t got = 0;
  if (text && size > 0) got = pread(capture_fd, text, (size_t)size, 0);
  close(capture_fd);
  capture_fd = -1;
  unlink(capture_path);
  napi_value out;
  napi_create_string_utf8(env, text ? text : "", got > 0 ? (size_t)got : 0, &out);
  free(text);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"divert", NULL, divert, NULL, NULL, NULL, napi_default, NULL},
    {"restore", NULL, restore, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
