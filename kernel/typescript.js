/*
 * The TypeScript that compiles notebook cells: the project's own `typescript` (package.json's
 * devDependency, the version `tsc -p .` uses), handed to tslab's converter in place of the fork it
 * bundles (@tslab/typescript-for-tslab 5.0.4).
 *
 * tslab requires its fork by name; a module object put in `require.cache` under the fork's
 * resolved path before tslab's converter is first required is what tslab gets, and the fork itself
 * is never loaded. That object is the project's TypeScript plus the five functions the fork adds
 * or exports and stock TypeScript does not (tslab/dist/converter.js calls them):
 *
 * | fork API | here |
 * |---|---|
 * | `getNullTransformationContext()` | `ts.nullTransformationContext` |
 * | `getPreEmitDiagnosticsOfFiles(program, files)` | options, global, syntactic and semantic diagnostics of those files |
 * | `getQuickInfoAtPosition(file, checker, token, pos)` | the body of the language service's method of that name, on the program tslab holds |
 * | `Completions.getCompletionsAtPositionForTslab(...)` | `ts.Completions.getCompletionsAtPosition` with no format context |
 * | `getDefaultTypeRoots(dir, host)` | `ts.getEffectiveTypeRoots({}, {getCurrentDirectory: () => dir})` |
 *
 * and two compiler options the fork knows and TypeScript 5.5+ does not: `noImplicitUseStrict`
 * (removed; cells and lib/ files run as strict code, as `tsc` emits them) and
 * `disableTopLevelAwait` (the fork reports a top-level await as an error that tslab takes as "wrap
 * the cell in an async function"; kernel/cells.js finds top-level awaits itself).
 *
 * On top, what the kernel adds to every cell's program (kernel/README.md, "Behaviour"):
 * tsconfig.json's type-checking options and `types`, inline source maps through both of tslab's
 * passes (ES module -> TypeScript, CommonJS -> ES module) so errors can name TypeScript lines,
 * tfjs-core's chained-op declarations as a root file, and directory watching off.
 */
'use strict';
const path = require('path');
const Module = require('module');

/** Options taken from tsconfig.json: type checks and the automatically included @types packages. Emit options stay tslab's (ES2022, ESNext modules). */
const TSCONFIG_OPTIONS = ['strict', 'noImplicitAny', 'strictNullChecks', 'noImplicitOverride', 'noFallthroughCasesInSwitch', 'noImplicitReturns', 'noUnusedLocals', 'noUnusedParameters', 'exactOptionalPropertyTypes', 'types'];
/** tslab's options that stock TypeScript does not have (see the header). */
const FORK_ONLY_OPTIONS = ['noImplicitUseStrict', 'disableTopLevelAwait'];
/**
 * Chained tensor ops (`x.reshape([4])`): tfjs-core declares them in this module augmentation, which
 * nothing else imports; as a root file of every cell's program, they type-check.
 */
const CHAINED_OPS_TYPES = '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.d.ts';

/**
 * Load the project's TypeScript and install it as tslab's (see the header). Must run before tslab's
 * converter is first required. Returns the TypeScript module and the options taken from tsconfig.json.
 */
function installTypeScript(tslabDir, rootDir) {
  let tsPath;
  try {
    tsPath = require.resolve('typescript', { paths: [rootDir] });
  } catch {
    throw new Error(`alignmix kernel: the project's TypeScript is not installed (package.json devDependency 'typescript'); run \`npm install\` in ${rootDir}`);
  }
  const ts = require(tsPath);
  // tslab 1.0.22 drives TypeScript's watch compiler through a single-slot timer and throws
  // "Unexpected pending rebuildTimer" when TypeScript asks for a second one, which a directory
  // watcher event (a folder or file created or deleted under a folder the compiled code imports
  // from) makes it do; from then on every cell would fail. With inert directory watchers only the
  // program-update timer remains. Edits to existing files are still seen (file watchers stay); a
  // file created after a failed import needs a kernel restart.
  ts.sys.watchDirectory = () => ({ close() {} });
  const projectOptions = projectCompilerOptions(ts, rootDir);
  const extraRoots = chainedOpsTypes(rootDir);
  const withoutForkOptions = (options) => {
    const out = { ...options };
    for (const key of FORK_ONLY_OPTIONS) delete out[key];
    return out;
  };
  const own = {
    createWatchCompilerHost: (roots, options, ...rest) => ts.createWatchCompilerHost([...roots, ...extraRoots], { ...withoutForkOptions(options), ...projectOptions, inlineSourceMap: true }, ...rest),
    transpileModule: (input, opts) => ts.transpileModule(input, { ...opts, compilerOptions: { ...withoutForkOptions(opts.compilerOptions), inlineSourceMap: true } }),
    getNullTransformationContext: () => ts.nullTransformationContext,
    getPreEmitDiagnosticsOfFiles: (program, files, token) => preEmitDiagnosticsOfFiles(ts, program, files, token),
    getQuickInfoAtPosition: (file, checker, token, position) => quickInfoAtPosition(ts, file, checker, token, position),
    getDefaultTypeRoots: (dir) => ts.getEffectiveTypeRoots({}, { getCurrentDirectory: () => dir }),
    Completions: {
      ...ts.Completions,
      getCompletionsAtPositionForTslab: (host, program, log, file, position, preferences, trigger, kind, token) => ts.Completions.getCompletionsAtPosition(host, program, log, file, position, preferences, trigger, kind, token, undefined),
    },
  };
  const api = { ...own };
  for (const key of Object.keys(ts)) if (!(key in own)) Object.defineProperty(api, key, { get: () => ts[key], enumerable: true });

  const forkPath = require.resolve('@tslab/typescript-for-tslab', { paths: [path.join(tslabDir, 'dist')] });
  const stub = new Module(forkPath);
  stub.filename = forkPath;
  stub.loaded = true;
  stub.exports = api;
  require.cache[forkPath] = stub;
  return { ts };
}

/** The declaration file of tfjs-core's chained ops, as an extra root file of every cell's program (or none). */
function chainedOpsTypes(rootDir) {
  try {
    return [require.resolve(CHAINED_OPS_TYPES, { paths: [rootDir] })];
  } catch {
    return [];
  }
}

/** tsconfig.json's TSCONFIG_OPTIONS, or {} without a tsconfig.json. */
function projectCompilerOptions(ts, rootDir) {
  const file = path.join(rootDir, 'tsconfig.json');
  if (!ts.sys.fileExists(file)) return {};
  const parsed = ts.parseConfigFileTextToJson(file, ts.sys.readFile(file));
  if (parsed.error) throw new Error(`alignmix kernel: ${file}: ${ts.flattenDiagnosticMessageText(parsed.error.messageText, '\n')}`);
  const opts = (parsed.config && parsed.config.compilerOptions) || {};
  return Object.fromEntries(TSCONFIG_OPTIONS.filter((k) => k in opts).map((k) => [k, opts[k]]));
}

/** What `tsc` would report for these files before emitting: options, global, syntactic, semantic (and declaration) diagnostics. */
function preEmitDiagnosticsOfFiles(ts, program, files, token) {
  const diagnostics = [...program.getConfigFileParsingDiagnostics(), ...program.getOptionsDiagnostics(token), ...program.getGlobalDiagnostics(token)];
  const declarations = ts.getEmitDeclarations(program.getCompilerOptions());
  for (const file of files) {
    diagnostics.push(...program.getSyntacticDiagnostics(file, token), ...program.getSemanticDiagnostics(file, token));
    if (declarations) diagnostics.push(...program.getDeclarationDiagnostics(file, token));
  }
  return ts.sortAndDeduplicateDiagnostics(diagnostics);
}

/**
 * Hover information at `position` of `file`: TypeScript's LanguageService.getQuickInfoAtPosition,
 * without the language service (tslab holds a program, not a service): the symbol at the position
 * (for a property of an object literal, the property of its contextual type), else the type of the
 * expression there.
 */
function quickInfoAtPosition(ts, file, checker, token, position) {
  const touched = ts.getTouchingPropertyName(file, position);
  if (touched === file) return undefined;
  const node = quickInfoNode(ts, touched);
  const symbol = quickInfoSymbol(ts, node, checker);
  const textSpan = ts.createTextSpanFromNode(node, file);
  const container = ts.getContainerNode(node);
  if (!symbol || checker.isUnknownSymbol(symbol)) {
    const typed = ts.isIdentifier(node) || ts.isPropertyAccessExpression(node) || ts.isQualifiedName(node) || node.kind === ts.SyntaxKind.ThisKeyword || node.kind === ts.SyntaxKind.SuperKeyword;
    const type = typed ? checker.getTypeAtLocation(node) : undefined;
    if (!type) return undefined;
    return {
      kind: '',
      kindModifiers: '',
      textSpan,
      displayParts: checker.runWithCancellationToken(token, (c) => ts.typeToDisplayParts(c, type, container)),
      documentation: type.symbol ? type.symbol.getDocumentationComment(checker) : undefined,
      tags: type.symbol ? type.symbol.getJsDocTags(checker) : undefined,
    };
  }
  const info = checker.runWithCancellationToken(token, (c) => ts.SymbolDisplay.getSymbolDisplayPartsDocumentationAndSymbolKind(c, symbol, file, container, node));
  return { kind: info.symbolKind, kindModifiers: ts.SymbolDisplay.getSymbolModifiers(checker, symbol), textSpan, displayParts: info.displayParts, documentation: info.documentation, tags: info.tags };
}

/** `new X()` hovers on X's class, `import.meta` on the meta property, a named tuple member as a whole. */
function quickInfoNode(ts, node) {
  const parent = node.parent;
  if (ts.isNewExpression(parent) && node.pos === parent.pos) return parent.expression;
  if (ts.isNamedTupleMember(parent) && node.pos === parent.pos) return parent;
  if (ts.isImportMeta(parent) && parent.name === node) return parent;
  if (ts.isJsxNamespacedName(parent)) return parent;
  return node;
}

function quickInfoSymbol(ts, node, checker) {
  const element = ts.getContainingObjectLiteralElement(node);
  if (element) {
    const contextual = checker.getContextualType(element.parent);
    const name = element.name && ts.getNameFromPropertyName(element.name);
    const property = contextual && name && !contextual.isUnion() ? contextual.getProperty(name) : undefined;
    if (property) return property;
  }
  return checker.getSymbolAtLocation(node);
}

module.exports = { installTypeScript };
