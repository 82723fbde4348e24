// A <textarea> bound to a text in a document.
//
// Typing: each `input` event hands the field's old and new value (and the
// caret) to the core, which turns them into one splice. Remote edits: just
// before a frame is applied, the selection is anchored on character ids;
// afterwards the field gets the new text and the selection goes back onto
// the same characters, wherever they moved. During an IME composition the
// field is left alone and brought up to date when the composition ends.

export class TextBinding {
  constructor(concord, doc, key, textarea) {
    this.concord = concord;
    this.workspace = concord.workspace;
    this.doc = doc;
    this.key = key;
    this.ta = textarea;
    this.composing = false;
    this.anchored = null;
    this.shown = this.workspace.text(doc, key);
    this.ta.value = this.shown;
    this.handlers = {
      input: () => this.#input(),
      compositionstart: () => {
        this.composing = true;
      },
      compositionend: () => {
        this.composing = false;
        this.#input();
      },
    };
    for (const [event, fn] of Object.entries(this.handlers)) this.ta.addEventListener(event, fn);
  }

  detach() {
    for (const [event, fn] of Object.entries(this.handlers)) this.ta.removeEventListener(event, fn);
    this.anchored?.free();
    this.anchored = null;
  }

  #input() {
    if (this.composing) return;
    const before = this.shown;
    const after = this.ta.value;
    if (after === before) return;
    const caret = this.ta.selectionEnd;
    try {
      // `render` follows: it shows the document's text if it differs
      // from the field (the splice moved past a remote edit).
      this.concord.edit(this.doc, (ws) => {
        ws.input(this.doc, this.key, before, after, caret);
        this.shown = after;
      });
    } catch (e) {
      console.error('concord: an edit was refused', e);
      this.#show(this.workspace.text(this.doc, this.key), null);
    }
  }

  /** Called just before the document changes: anchor the selection. */
  capture() {
    this.anchored?.free();
    this.anchored = null;
    if (this.composing || this.ta.value !== this.shown) return;
    try {
      this.anchored = this.workspace.selection(
        this.doc,
        this.key,
        this.ta.selectionStart,
        this.ta.selectionEnd,
      );
    } catch {
      // The document is gone.
    }
  }

  /** The document changed: show its text, the selection on its characters. */
  render() {
    if (this.composing) return;
    let text;
    try {
      text = this.workspace.text(this.doc, this.key);
    } catch {
      return;
    }
    if (text === this.ta.value && text === this.shown) return;
    let range = null;
    if (this.anchored) {
      range = this.workspace.resolveSelection(this.doc, this.key, this.anchored);
    }
    this.#show(text, range);
  }

  #show(text, range) {
    const { scrollTop } = this.ta;
    const focused = document.activeElement === this.ta;
    const [start, end] = range ?? [
      Math.min(this.ta.selectionStart, text.length),
      Math.min(this.ta.selectionEnd, text.length),
    ];
    const backward = this.ta.selectionDirection === 'backward';
    this.ta.value = text;
    this.shown = text;
    if (focused || range) this.ta.setSelectionRange(start, end, backward ? 'backward' : 'forward');
    this.ta.scrollTop = scrollTop;
  }
}
