import { QfleetError } from "../errors.js";

/**
 * Key names for QMP `send-key`: QKeyCode values (qapi/ui.json; this list is QEMU 7.2's, read from
 * its query-qmp-schema, minus "unmapped"). Newer QEMUs only add names, so these stay valid.
 */
export const QKEYCODES: readonly string[] = (
  "shift shift_r alt alt_r ctrl ctrl_r menu esc 1 2 3 4 5 6 7 8 9 0 minus equal backspace tab q w e r t y u i o p " +
  "bracket_left bracket_right ret a s d f g h j k l semicolon apostrophe grave_accent backslash z x c v b n m comma dot " +
  "slash asterisk spc caps_lock f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 num_lock scroll_lock kp_divide kp_multiply kp_subtract " +
  "kp_add kp_enter kp_decimal sysrq kp_0 kp_1 kp_2 kp_3 kp_4 kp_5 kp_6 kp_7 kp_8 kp_9 less f11 f12 print home pgup pgdn " +
  "end left up down right insert delete stop again props undo front copy open paste find cut lf help meta_l meta_r " +
  "compose pause ro hiragana henkan yen muhenkan katakanahiragana kp_comma kp_equals power sleep wake audionext " +
  "audioprev audiostop audioplay audiomute volumeup volumedown mediaselect mail calculator computer ac_home ac_back " +
  "ac_forward ac_refresh ac_bookmarks lang1 lang2"
).split(" ");
const KNOWN = new Set(QKEYCODES);
const MODIFIERS = new Set(["shift", "shift_r", "ctrl", "ctrl_r", "alt", "alt_r", "meta_l", "meta_r"]);

/** Friendlier names people type, each to its QKeyCode. */
// prettier-ignore
const ALIASES: Record<string, string> = {
  enter: "ret", return: "ret", escape: "esc", del: "delete", ins: "insert", space: "spc", bksp: "backspace", bs: "backspace",
  control: "ctrl", ctl: "ctrl", ctrl_l: "ctrl", lctrl: "ctrl", rctrl: "ctrl_r", shift_l: "shift", lshift: "shift", rshift: "shift_r",
  alt_l: "alt", lalt: "alt", ralt: "alt_r", altgr: "alt_r", option: "alt", opt: "alt",
  win: "meta_l", windows: "meta_l", super: "meta_l", meta: "meta_l", cmd: "meta_l", command: "meta_l", lwin: "meta_l", rwin: "meta_r",
  pageup: "pgup", page_up: "pgup", prior: "pgup", pagedown: "pgdn", page_down: "pgdn", pgdown: "pgdn", next: "pgdn",
  arrowup: "up", arrowdown: "down", arrowleft: "left", arrowright: "right",
  capslock: "caps_lock", numlock: "num_lock", scrolllock: "scroll_lock", printscreen: "print", prtsc: "print", prtscr: "print",
  break: "pause", apps: "menu", context_menu: "menu", period: "dot", dash: "minus", hyphen: "minus", equals: "equal",
  grave: "grave_accent", backtick: "grave_accent", backquote: "grave_accent", quote: "apostrophe",
  lbracket: "bracket_left", rbracket: "bracket_right", bracketleft: "bracket_left", bracketright: "bracket_right",
  plus: "+", kp_minus: "kp_subtract", kp_plus: "kp_add", kp_star: "kp_multiply", kp_slash: "kp_divide", kp_dot: "kp_decimal",
};

/** Characters on a US keyboard: unshifted ones, then the shifted ones over the same keys. */
// prettier-ignore
const UNSHIFTED: Record<string, string> = {
  " ": "spc", "-": "minus", "=": "equal", "[": "bracket_left", "]": "bracket_right", "\\": "backslash", ";": "semicolon",
  "'": "apostrophe", "`": "grave_accent", ",": "comma", ".": "dot", "/": "slash", "\n": "ret", "\t": "tab",
};
// prettier-ignore
const SHIFTED: Record<string, string> = {
  "!": "1", "@": "2", "#": "3", $: "4", "%": "5", "^": "6", "&": "7", "*": "8", "(": "9", ")": "0", _: "minus", "+": "equal",
  "{": "bracket_left", "}": "bracket_right", "|": "backslash", ":": "semicolon", '"': "apostrophe", "~": "grave_accent",
  "<": "comma", ">": "dot", "?": "slash",
};

/** The keys that type `ch` on a US layout ("A" -> shift, a), or null when no key does. */
function charKeys(ch: string): string[] | null {
  if (/^[a-z0-9]$/.test(ch)) return [ch];
  if (/^[A-Z]$/.test(ch)) return ["shift", ch.toLowerCase()];
  if (UNSHIFTED[ch]) return [UNSHIFTED[ch]];
  if (SHIFTED[ch]) return ["shift", SHIFTED[ch]];
  return null;
}

const EXAMPLES = "ret, esc, tab, spc, backspace, delete, up, pgdn, f1..f12, a..z, 0..9, ctrl, alt, shift, meta_l";

/** One name of a combo to its keys: a QKeyCode, an alias, or a single character (shifted ones bring shift). */
function keyOf(token: string, combo: string): string[] {
  if (token.length === 1) {
    const keys = charKeys(token.toLowerCase());
    if (keys) return keys;
  }
  const name = token.toLowerCase();
  const alias = ALIASES[name];
  if (alias) return alias.length === 1 ? charKeys(alias)! : [alias];
  if (KNOWN.has(name)) return [name];
  throw new QfleetError("BAD_INPUT", `unknown key "${token}" in key combination "${combo}"`, {
    hint: `use QEMU key names (${EXAMPLES}) or aliases such as enter, escape, del, pageup, win, space, joined by - or +`,
  });
}

/**
 * A key combination as QMP send-key names in press order: modifiers first (in the order written),
 * then the other keys; duplicates dropped. Names are case-insensitive and joined by "-" or "+"
 * ("ctrl-alt-delete", "Ctrl+C", "shift-tab", "F2", "enter"); a single character stands for its key
 * on a US layout, so "ctrl-A" is ctrl+a while "?" is shift+slash. The last key may be "-" or "+"
 * itself ("ctrl--", "ctrl-+"). An unknown name is BAD_INPUT naming it.
 */
export function parseKeyCombo(combo: string): string[] {
  const text = combo.trim();
  if (text === "") throw new QfleetError("BAD_INPUT", "empty key combination", { hint: `name keys such as ctrl-alt-delete or ${EXAMPLES}` });
  let tokens: string[];
  if (text.length === 1) tokens = [text];
  else {
    const last = /^(.+?)[-+]([-+])$/.exec(text);
    tokens = last ? [...last[1]!.split(/[-+]/), last[2]!] : text.split(/[-+]/);
  }
  const keys = tokens.flatMap((t) => {
    const token = t.trim();
    if (token === "")
      throw new QfleetError("BAD_INPUT", `key combination "${combo}" has an empty key name`, { hint: 'join keys with one "-" or "+"' });
    return keyOf(token, combo);
  });
  const unique = [...new Set(keys)];
  return [...unique.filter((k) => MODIFIERS.has(k)), ...unique.filter((k) => !MODIFIERS.has(k))];
}

/**
 * Text as the key presses that type it on a US keyboard, one combo per character: "Hi!\n" ->
 * [shift,h] [i] [shift,1] [ret]. "\t" is tab; "\r\n" and a lone "\r" are one ret. A character no US
 * key types (é, emoji, control characters) is BAD_INPUT naming it and its 1-based position.
 */
export function textToCombos(text: string): string[][] {
  const chars = Array.from(text); // code points, so an emoji is one character
  const out: string[][] = [];
  chars.forEach((ch, i) => {
    if (ch === "\r") return void out.push(["ret"]);
    if (ch === "\n" && chars[i - 1] === "\r") return;
    const keys = charKeys(ch);
    if (!keys) {
      const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
      const shown = /\p{C}/u.test(ch) ? code : `"${ch}" (${code})`;
      throw new QfleetError("BAD_INPUT", `character ${shown} at position ${i + 1} cannot be typed on a US keyboard`, {
        hint: "type ASCII text only (letters, digits, punctuation, space, tab, newline); send other input another way",
      });
    }
    out.push(keys);
  });
  return out;
}
