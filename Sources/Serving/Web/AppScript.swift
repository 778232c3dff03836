extension WebAssets {
    /// Sends the image to `/v1/predict?cam=true` and renders the JSON; no dependencies.
    static let script = #"""
    "use strict";
    const names = {
      akiec: "Actinic keratosis / intraepithelial carcinoma", bcc: "Basal cell carcinoma",
      bkl: "Benign keratosis-like lesion", df: "Dermatofibroma", mel: "Melanoma", nv: "Melanocytic nevus",
      vasc: "Vascular lesion", benign: "Benign", malignant: "Malignant"
    };
    const label = (c) => names[c] ? `${names[c]} (${c})` : c;
    const $ = (id) => document.getElementById(id);
    const status = (text) => { $("status").textContent = text; };

    fetch("/v1/model").then((r) => r.json()).then((m) => {
      $("model-line").textContent = `Model ${m.model.version} (${m.model.architecture}, id ${m.model.id}), ` +
        `${m.classes.length} classes, ` + (m.ensemble
          ? `ensemble of ${m.ensemble.members.length} (${m.ensemble.combination}; Grad-CAM: first member)`
          : `input ${m.input_size}×${m.input_size}` + (m.temperature ? ", calibrated" : ""));
      $("intended-use-text").textContent = m.intended_use;
      if (m.metadata_fields && m.metadata_fields.length) metadataForm(m.metadata_fields);
    }).catch(() => { $("model-line").textContent = "Model information unavailable."; });

    // A number box or a category list per metadata field of a fusion model; empty means missing.
    function metadataForm(fields) {
      $("metadata-form").hidden = false;
      $("metadata-fields").replaceChildren(...fields.map((f) => {
        const row = document.createElement("label");
        row.className = "option";
        row.textContent = `${f.name} `;
        let input;
        if (f.kind === "number") {
          input = document.createElement("input");
          input.type = "number";
          input.step = "any";
        } else {
          input = document.createElement("select");
          input.append(new Option("unknown", ""), ...f.categories.map((c) => new Option(c, c)));
        }
        input.id = `metadata-${f.name}`;
        input.dataset.field = f.name;
        row.append(input);
        return row;
      }));
    }

    async function classify(file) {
      if (!file) return;
      $("result").hidden = false;
      $("preview").src = URL.createObjectURL(file);
      $("cam-overlay").hidden = true;
      $("cam-toggle").checked = false;
      $("cam-toggle").disabled = true;
      $("bars").replaceChildren();
      $("result-top").textContent = "…";
      $("result-confidence").textContent = "…";
      $("low-confidence").hidden = true;
      status(`Classifying ${file.name}…`);
      const body = new FormData();
      body.append("image", file, file.name);
      for (const input of $("metadata-fields").querySelectorAll("[data-field]")) {
        if (input.value !== "") body.append(input.dataset.field, input.value);
      }
      const tta = $("tta-input").checked ? 8 : 1;
      try {
        const response = await fetch(`/v1/predict?cam=true&tta=${tta}`, { method: "POST", body });
        const json = await response.json();
        if (!response.ok) throw new Error(json.error ? json.error.message : `HTTP ${response.status}`);
        show(json);
        status(`Done in ${Math.round(json.timing.total_ms)} ms.`);
      } catch (error) {
        $("result-top").textContent = "—";
        $("result-confidence").textContent = "—";
        status(`Could not classify the image: ${error.message}`);
      }
    }

    function show(json) {
      const p = json.prediction;
      $("result-top").textContent = label(p.top);
      $("result-confidence").textContent = `${(100 * p.confidence).toFixed(1)}%`;
      $("calibration").textContent = p.calibrated ? "(calibrated)" : "(not calibrated)";
      $("low-confidence").hidden = !p.low_confidence;
      const order = p.classes.map((c, i) => [c, p.probabilities[i]]).sort((a, b) => b[1] - a[1]);
      $("bars").replaceChildren(...order.map(([c, value]) => {
        const item = document.createElement("li");
        item.className = c === p.top ? "bar top-bar" : "bar";
        const percent = (100 * value).toFixed(1);
        item.innerHTML = `<span class="bar-label"></span><span class="bar-track" role="meter" aria-valuemin="0" ` +
          `aria-valuemax="100" aria-valuenow="${percent}"><span class="bar-fill" style="width:${percent}%"></span></span>` +
          `<span class="bar-value">${percent}%</span>`;
        item.querySelector(".bar-label").textContent = label(c);
        item.querySelector(".bar-track").setAttribute("aria-label", `${label(c)}: ${percent}%`);
        return item;
      }));
      if (p.cam) {
        $("cam-overlay").src = p.cam;
        $("cam-toggle").disabled = false;
      }
    }

    $("cam-toggle").addEventListener("change", (e) => { $("cam-overlay").hidden = !e.target.checked; });
    $("file-input").addEventListener("change", (e) => classify(e.target.files[0]));
    $("camera-input").addEventListener("change", (e) => classify(e.target.files[0]));
    const zone = $("drop-zone");
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      zone.classList.remove("dragging");
      classify(e.dataTransfer.files[0]);
    });
    zone.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file-input").click(); }
    });
    """#
}
