extension WebAssets {
    /// One page: pick, drop or photograph an image; see the preview, the result, every class's
    /// probability and the Grad-CAM overlay. The intended-use notice stays on screen.
    static let indexHTML = """
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>SkinLesion — research classifier</title>
    <link rel="stylesheet" href="/style.css">
    </head>
    <body>
    <header class="notice" role="note" id="intended-use">
      <strong>Research tool, not a diagnostic device.</strong>
      <span id="intended-use-text">Do not use it to diagnose, treat or triage patients; a dermatologist must assess any lesion of concern.</span>
      <a href="/v1/model/card" id="model-card-link">Model card</a>
    </header>
    <main>
      <h1>SkinLesion</h1>
      <p id="model-line" class="muted">Loading model information…</p>
      <section aria-labelledby="upload-heading">
        <h2 id="upload-heading">Image</h2>
        <div id="drop-zone" class="drop-zone" tabindex="0" aria-describedby="drop-help">
          <p id="drop-help">Drop a dermatoscopic image (JPEG or PNG) here, or:</p>
          <input id="file-input" type="file" accept="image/*" class="visually-hidden">
          <label class="button" for="file-input">Choose an image</label>
          <input id="camera-input" type="file" accept="image/*" capture="environment" class="visually-hidden">
          <label class="button secondary" for="camera-input">Take a photo</label>
          <label class="option"><input id="tta-input" type="checkbox"> Average over 8 flipped and rotated views (slower)</label>
        </div>
        <fieldset id="metadata-form" hidden>
          <legend>Patient metadata (this model uses it; leave a field empty if unknown)</legend>
          <div id="metadata-fields" class="metadata-fields"></div>
        </fieldset>
        <p id="status" role="status" aria-live="polite"></p>
      </section>
      <section id="result" aria-labelledby="result-heading" hidden>
        <h2 id="result-heading">Result</h2>
        <div class="result-grid">
          <figure>
            <div class="image-frame">
              <img id="preview" alt="The uploaded image">
              <img id="cam-overlay" alt="Grad-CAM heatmap of the regions that raised the top class's score" hidden>
            </div>
            <figcaption>
              <label class="option"><input id="cam-toggle" type="checkbox" disabled> Show Grad-CAM heatmap</label>
            </figcaption>
          </figure>
          <div>
            <p class="top">Most likely: <strong id="result-top"></strong></p>
            <p>Confidence: <strong id="result-confidence"></strong> <span id="calibration" class="muted"></span></p>
            <p id="low-confidence" class="warning" role="alert" hidden>Low confidence — refer to a dermatologist.</p>
            <h3 id="bars-heading">Probability of every class</h3>
            <ul id="bars" class="bars" aria-labelledby="bars-heading"></ul>
          </div>
        </div>
      </section>
    </main>
    <script src="/app.js"></script>
    </body>
    </html>
    """
}
