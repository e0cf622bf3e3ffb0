import t from 'tap'
import { decodeFilePath } from '../../src/mocks/file-path.js'

const prefix = '/tenants/contoso/sites/finance/files/'

t.test('decodes each segment on its own and joins them with a slash', async (t) => {
  t.equal(decodeFilePath(`${prefix}Shared%20Documents/Q3%20report.docx`, 5), 'Shared Documents/Q3 report.docx')
  t.equal(decodeFilePath(`${prefix}Documents/R%C3%A9sum%C3%A9%20draft.docx`, 5), 'Documents/Résumé draft.docx')
  t.equal(decodeFilePath(`${prefix}100%25%20done.txt`, 5), '100% done.txt')
  t.equal(decodeFilePath(`${prefix}plain.txt`, 5), 'plain.txt')
})

t.test('ignores the query string', async (t) => {
  t.equal(decodeFilePath(`${prefix}a/b.txt?download=1&x=%2F`, 5), 'a/b.txt')
})

t.test('refuses empty, dot, badly encoded and separator-holding segments', async (t) => {
  for (const tail of ['', 'a//b', 'a/', '.', 'a/./b', '..', 'a/%2e%2e/b', 'a%2Fb', 'a%5Cb', 'a%00b', 'bad%zz', '%E2%82']) {
    t.equal(decodeFilePath(`${prefix}${tail}`, 5), null, tail)
  }
})

t.test('finds no path when nothing follows the skipped segments', async (t) => {
  t.equal(decodeFilePath('/tenants/contoso/sites/finance/files', 5), null)
})
