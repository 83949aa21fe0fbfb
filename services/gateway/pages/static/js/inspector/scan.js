// The camera scan of the merchant's check-in QR: the rear camera (getUserMedia), each frame
// decoded with the browser's BarcodeDetector where it reads QR codes, else with the vendored
// jsQR (static/vendor/jsqr, loaded on first use). Calls onCode(text) once with the first code
// read, then stops the camera. Without a camera, or when it is refused, says so: the page's
// text box takes a pasted code instead.

const JSQR = "/static/vendor/jsqr/jsQR.js";
let jsqrLoading = null;

function loadJsQR() {
  if (window.jsQR) return Promise.resolve(window.jsQR);
  jsqrLoading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = JSQR;
    script.onload = () => (window.jsQR ? resolve(window.jsQR) : reject(new Error("jsQR missing")));
    script.onerror = () => reject(new Error("jsQR failed to load"));
    document.head.append(script);
  });
  return jsqrLoading;
}

async function detector() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const native = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => (await native.detect(video))[0]?.rawValue ?? null;
      }
    } catch {
      // Fall through to jsQR.
    }
  }
  const jsQR = await loadJsQR();
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return null;
    canvas.width = width;
    canvas.height = height;
    context.drawImage(video, 0, 0, width, height);
    const found = jsQR(context.getImageData(0, 0, width, height).data, width, height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  };
}

// Starts scanning into `video`; returns stop(). `say(text)` reports what happens.
export async function startScan(video, { onCode, say }) {
  if (!navigator.mediaDevices?.getUserMedia) {
    say("此浏览器不能使用相机，请粘贴检查码。");
    return () => {};
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch {
    say("无法打开相机（未授权或没有相机），请粘贴检查码。");
    return () => {};
  }
  let running = true;
  const stop = () => {
    running = false;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
    video.hidden = true;
  };
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  say("请将商户检查码放在取景框内。");
  let read;
  try {
    read = await detector();
  } catch {
    stop();
    say("扫码组件加载失败，请粘贴检查码。");
    return () => {};
  }
  const tick = async () => {
    if (!running) return;
    let code = null;
    try {
      code = await read(video);
    } catch {
      code = null; // a frame that could not be read: try the next
    }
    if (code && running) {
      stop();
      onCode(code);
      return;
    }
    window.setTimeout(tick, 200);
  };
  tick();
  return stop;
}
