/**
 * The install-time patch of nodemailer (patches/nodemailer+10.6.1.patch): MimeNode's header keys are
 * normalised once per key, not on every get and set; only a tree's root draws the random part of its
 * boundaries, when the first is needed, not every node as it is made; MailComposer's compile() takes the
 * root's headers from a table, not from each header's name by a regular expression. What a message says
 * must not change.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import MimeNode from 'nodemailer/lib/mime-node';

async function built(node: MimeNode): Promise<string> {
  return (await node.build()).toString('latin1');
}

describe('MimeNode as patched', () => {
  it('normalises header keys as published, the same on every call', () => {
    const node = new MimeNode('text/plain');
    // The method the patch changes, private in nodemailer's types.
    const normalise = (key: string) => (node as unknown as { _normalizeHeaderKey(key: string): string })._normalizeHeaderKey(key);
    const keys: Array<[string, string]> = [
      ['content-type', 'Content-Type'],
      ['mime-version', 'MIME-Version'],
      ['message-id', 'Message-ID'],
      ['x-smtpapi', 'X-SMTPAPI'],
      ['dkim-signature', 'DKIM-Signature'],
      ['content-features', 'Content-features'],
      ['X-MS-Has-Attach', 'X-Ms-Has-Attach'],
      ['received-spf', 'Received-SPF'],
      ['From: ceo@example.com (', 'Fromceo@example.com('],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [given, normalised] of keys) expect(normalise(given)).toBe(normalised);
    }
    expect(normalise(undefined as unknown as string)).toBe('');
    node.setHeader('x-mailer', 'a');
    node.setHeader('X-MAILER', 'b');
    expect(node.getHeader('X-Mailer')).toBe('b');
  });

  it("gives every part of a tree boundaries from its root's random part, drawn anew for each tree", async () => {
    const tree = () => {
      const root = new MimeNode('multipart/mixed');
      const alternative = root.createChild('multipart/alternative');
      alternative.createChild('text/plain').setContent('text');
      alternative.createChild('text/html').setContent('<p>html</p>');
      root.createChild('application/octet-stream').setContent(Buffer.from([1, 2, 3]));
      return root;
    };
    const first = await built(tree());
    const second = await built(tree());
    const boundaries = (message: string) => [...message.matchAll(/boundary="([^"]+)"/g)].map((match) => match[1]);
    const [outer, inner] = boundaries(first);
    expect(outer).toMatch(/^--_NmP-([0-9a-f]{16})-Part_1$/);
    expect(inner).toBe(outer.replace(/Part_1$/, 'Part_2'));
    expect(first).toContain(`\r\n--${outer}--`);
    expect(first).toContain(`\r\n--${inner}--`);
    expect(boundaries(second)[0]).not.toBe(outer);
  });

  it('draws a random part for a child that became a root of its own', async () => {
    const root = new MimeNode('multipart/mixed');
    const child = root.createChild('multipart/alternative');
    child.createChild('text/plain').setContent('text');
    child.remove();
    const alone = await built(child);
    expect(/boundary="([^"]+)"/.exec(alone)![1]).toMatch(/^--_NmP-[0-9a-f]{16}-Part_\d+$/);
  });

  it('sets every root header from its option, the hyphenated ones from their camel-case names', () => {
    const root = new MailComposer({
      from: 'a@example.com',
      sender: 's@example.com',
      to: 'b@example.com',
      cc: 'c@example.com',
      bcc: 'd@example.com',
      replyTo: 'r@example.com',
      inReplyTo: '<parent@example.com>',
      references: '<root@example.com> <parent@example.com>',
      subject: '件名',
      messageId: '<m@example.com>',
      date: new Date(Date.UTC(2019, 3, 1, 9, 30)),
      text: 'x',
    }).compile();
    const expected: Array<[string, string]> = [
      ['From', 'a@example.com'],
      ['Sender', 's@example.com'],
      ['To', 'b@example.com'],
      ['Cc', 'c@example.com'],
      ['Bcc', 'd@example.com'],
      ['Reply-To', 'r@example.com'],
      ['In-Reply-To', '<parent@example.com>'],
      ['References', '<root@example.com> <parent@example.com>'],
      ['Subject', '件名'],
      ['Message-ID', '<m@example.com>'],
    ];
    for (const [name, value] of expected) expect(String(root.getHeader(name))).toContain(value);
    expect(new Date(root.getHeader('Date') as unknown as string).getTime()).toBe(Date.UTC(2019, 3, 1, 9, 30));
  });
});
