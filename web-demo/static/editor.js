// A <textarea> bound to a text in a document: a note's body, or a calendar
// event's notes (`rootText`, `eventNotes` say where the text is).
//
// Typing: each `input` event hands the field's old and new value (and the
// caret) to the core, which turns them into one splice. Remote edits: just
// before a frame is applied, the selection is anchored on character ids;
// afterwards the field gets the new text and the selection goes back onto
// the same characters, wherever they moved. During an IME composition the
// field is left alone and brought up to date when the composition ends.

/** The text under a root key of a document (a note's body is `rootText('body')`). */
export function rootText(key) {
  return {
    text: (ws, doc) => ws.text(doc, key),
    input: (ws, doc, before, after, caret) => ws.inputText(doc, key, before, after, caret),
    selection: (ws, doc, start, end) => ws.selection(doc, key, start, end),
    resolve: (ws, doc, sel) => ws.resolveSelection(doc, key, sel),
  };
}

/** The notes of calendar event `uid`. */
export function eventNotes(uid) {
  return {
    text: (ws, doc) => ws.eventNotes(doc, uid),
    input: (ws, doc, before, after, caret) => ws.inputEventNotes(doc, uid, before, after, caret),
    selection: (ws, doc, start, end) => ws.eventNotesSelection(doc, uid, start, end),
    resolve: (ws, doc, sel) => ws.resolveEventNotesSelection(doc, uid, sel),
  };
}

export class TextBinding {
  /** `at`: where the text is (`rootText`, `eventNotes`). */
  constructor(concord, doc, at, textarea) {
    this.concord = concord;
    this.workspace = concord.workspace;
    this.doc = doc;
    this.at = at;
    this.ta = textarea;
    this.composing = false;
    this.anchored = null;
    /** Where the caret belongs after our own edit (UTF-16), if the core moved it. */
    this.caretAfter = null;
    this.shown = at.text(this.workspace, doc);
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
      // `render` follows: it shows the document's text if it differs from
      // the field (the splice moved past remote edits that landed while
      // the field was left alone, as during an IME composition), the caret
      // after what was typed.
      this.concord.edit(this.doc, (ws) => {
        this.caretAfter = this.at.input(ws, this.doc, before, after, caret) ?? null;
        this.shown = after;
      });
    } catch (e) {
      console.error('concord: an edit was refused', e);
      this.#show(this.at.text(this.workspace, this.doc), null);
    } finally {
      this.caretAfter = null;
    }
  }

  /** Called just before the document changes: anchor the selection. */
  capture() {
    this.anchored?.free();
    this.anchored = null;
    if (this.composing || this.ta.value !== this.shown) return;
    try {
      this.anchored = this.at.selection(this.workspace, this.doc, this.ta.selectionStart, this.ta.selectionEnd);
    } catch {
      // The document is gone.
    }
  }

  /** The document changed: show its text, the selection on its characters. */
  render() {
    if (this.composing) return;
    let text;
    try {
      text = this.at.text(this.workspace, this.doc);
    } catch {
      return;
    }
    if (text === this.ta.value && text === this.shown) return;
    let range = null;
    if (this.anchored) {
      range = this.at.resolve(this.workspace, this.doc, this.anchored);
    } else if (this.caretAfter !== null) {
      range = [this.caretAfter, this.caretAfter];
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
