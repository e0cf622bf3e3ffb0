// Module hooks registered by source-maps.mjs (see there why). Registered after tsx's, they run
// before them: they take tsx's JavaScript and rewrite only its inline source map's comment.
const COMMENT = '//# sourceMappingURL=data:application/json;base64,'

export async function load (url, context, nextLoad) {
  const result = await nextLoad(url, context)
  if (!url.startsWith('file:') || !/\.[cm]?tsx?$/.test(new URL(url).pathname) || result.source == null) return result
  const source = String(result.source)
  const at = source.lastIndexOf(COMMENT)
  if (at === -1) return result
  const map = JSON.parse(Buffer.from(source.slice(at + COMMENT.length).trim(), 'base64').toString('utf8'))
  if (!Array.isArray(map.sourcesContent) || map.sourcesContent.some((text) => text !== null)) return result
  delete map.sourcesContent
  return { ...result, source: `${source.slice(0, at)}${COMMENT}${Buffer.from(JSON.stringify(map)).toString('base64')}\n` }
}
