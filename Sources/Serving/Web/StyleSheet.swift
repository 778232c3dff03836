extension WebAssets {
    /// Colours meet WCAG AA contrast (text ≥ 4.5:1 on its background); focus is always visible.
    static let styleSheet = """
    :root { font-family: system-ui, sans-serif; color: #1a1a1a; background: #ffffff; line-height: 1.45; }
    body { margin: 0; }
    main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
    .notice { position: sticky; top: 0; z-index: 1; background: #fff4ce; color: #3d2e00; border-bottom: 2px solid #8a6d00;
              padding: 0.6rem 1rem; }
    .notice a { color: #003d99; margin-left: 0.5rem; }
    .muted { color: #4a4a4a; }
    .drop-zone { border: 2px dashed #4a4a4a; border-radius: 0.5rem; padding: 1.25rem; text-align: center; }
    .drop-zone.dragging { background: #e8f0fe; border-color: #003d99; }
    .button { display: inline-block; background: #003d99; color: #ffffff; padding: 0.55rem 1rem; border-radius: 0.35rem;
              cursor: pointer; margin: 0.25rem; }
    .button.secondary { background: #ffffff; color: #003d99; border: 2px solid #003d99; }
    .option { display: block; margin-top: 0.75rem; }
    :focus-visible, input:focus-visible + .button, .drop-zone:focus-visible { outline: 3px solid #c45100; outline-offset: 2px; }
    .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
    .result-grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 1.5rem; }
    @media (max-width: 40rem) { .result-grid { grid-template-columns: 1fr; } }
    figure { margin: 0; }
    .image-frame { position: relative; }
    .image-frame img { width: 100%; display: block; border-radius: 0.35rem; }
    #cam-overlay { position: absolute; inset: 0; }
    .top { font-size: 1.2rem; }
    .warning { background: #fde7e9; color: #8a0012; border-left: 4px solid #8a0012; padding: 0.5rem 0.75rem; font-weight: 600; }
    .bars { list-style: none; padding: 0; margin: 0; }
    .bar { display: grid; grid-template-columns: 14rem 1fr 3.5rem; gap: 0.5rem; align-items: center; margin: 0.3rem 0; }
    @media (max-width: 40rem) { .bar { grid-template-columns: 1fr 1fr 3.5rem; } }
    .bar-track { background: #e6e6e6; height: 0.9rem; border-radius: 0.2rem; overflow: hidden; }
    .bar-fill { display: block; height: 100%; background: #4a4a4a; }
    .top-bar .bar-fill { background: #003d99; }
    .top-bar .bar-label { font-weight: 600; }
    .bar-value { text-align: right; font-variant-numeric: tabular-nums; }
    """
}
